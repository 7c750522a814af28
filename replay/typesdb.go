package replay

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/collectd-anomaly/collectd-anomaly/metric"
)

// SystemTypesDB is where Debian's collectd keeps its types.db.
const SystemTypesDB = "/usr/share/collectd/types.db"

// TypesDB is collectd's types.db: the data sources of each type, in order,
// with their data source types - what tells replay that cpu is a DERIVE
// and if_octets two of them, rx and tx.
type TypesDB map[string][]DataSource

// DataSource is one data source of a type.
type DataSource struct {
	Name string
	Kind metric.Kind
}

// ReadTypesDB reads a types.db file: lines "type ds:TYPE:min:max, ..." (the
// data sources apart by commas or blanks),
// comments after '#'. name names the file in errors, which give its line.
func ReadTypesDB(r io.Reader, name string) (TypesDB, error) {
	db := TypesDB{}
	sc := bufio.NewScanner(r)
	for line := 1; sc.Scan(); line++ {
		text, _, _ := strings.Cut(sc.Text(), "#")
		fields := strings.Fields(text)
		if len(fields) == 0 {
			continue
		}
		if len(fields) < 2 {
			return nil, fmt.Errorf("%s:%d: type %q without data sources", name, line, fields[0])
		}
		var dss []DataSource
		// collectd splits the data sources at commas and at blanks alike.
		specs := strings.FieldsFunc(strings.Join(fields[1:], " "), func(r rune) bool { return r == ',' || r == ' ' })
		for _, spec := range specs {
			parts := strings.Split(spec, ":")
			if len(parts) != 4 || parts[0] == "" {
				return nil, fmt.Errorf("%s:%d: data source %q: want name:TYPE:min:max", name, line, spec)
			}
			kind, ok := map[string]metric.Kind{"GAUGE": metric.Gauge, "COUNTER": metric.Counter,
				"DERIVE": metric.Derive, "ABSOLUTE": metric.Absolute}[strings.ToUpper(parts[1])]
			if !ok {
				return nil, fmt.Errorf("%s:%d: data source %q: type %q is not GAUGE, COUNTER, DERIVE or ABSOLUTE", name, line, spec, parts[1])
			}
			dss = append(dss, DataSource{Name: parts[0], Kind: kind})
		}
		db[fields[0]] = dss
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	return db, nil
}

// LoadTypesDB reads the types.db at path; "" reads the system's if it is
// there, and returns nil (types by their names, KindOfType) if not.
func LoadTypesDB(path string) (TypesDB, error) {
	if path == "" {
		if _, err := os.Stat(SystemTypesDB); err != nil {
			return nil, nil
		}
		path = SystemTypesDB
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return ReadTypesDB(f, path)
}

// Kind is the data source type of data source ds of type typ: from the
// database where it knows the type (the data source by name, else the
// type's first), from the type's name (KindOfType) where it does not or db
// is nil.
func (db TypesDB) Kind(typ, ds string) metric.Kind {
	dss, ok := db[typ]
	if !ok || len(dss) == 0 {
		return KindOfType(typ)
	}
	for _, d := range dss {
		if d.Name == ds {
			return d.Kind
		}
	}
	return dss[0].Kind
}
