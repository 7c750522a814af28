package detect

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"time"
)

// The state file keeps every group's windows, baselines and alert state
// across a restart of collectd (the plugin's StateFile option), so that the
// rules are not blind until their baselines refill, a FAILURE raised before
// the restart is not sent again, and its OKAY comes when it ends.
//
// Layout, version 2 (integers are varints, see statecodec.go; version 1
// kept ratio and error-share windows as two Summary rings, and is refused:
// its rules start fresh once, after the upgrade):
//
//	"collectd-anomaly state\n"     magic
//	uint   version                 2
//	int    saved at                Unix nanoseconds, the wall clock
//	uint   rules, then per rule:   name, fingerprint, groups, then per group:
//	                               host, label, group state (length-prefixed)
//	uint32 CRC-32 (IEEE), little-endian, of everything before it
//
// A rule whose fingerprint (of its configuration) changed starts fresh; so
// does a group saved longer ago than its rule's window (Span), whose state
// says nothing about now. A group's state is decoded only when its series
// come back (Engine.group). One whose series do not come back for the
// IdleTimeout is swept as a live group without series would be
// (sweepSaved); until then each save writes it again if it is raised
// (carried).

const (
	stateMagic   = "collectd-anomaly state\n"
	stateVersion = 2
	// The slot widths a restored group may have.
	minRestoredStep, maxRestoredStep = 10 * time.Millisecond, 24 * time.Hour
)

// StateReport says what RestoreState found, for the plugin's log line.
type StateReport struct {
	SavedAt time.Time
	Rules   int      // rules whose state was kept
	Groups  int      // groups saved for them
	Changed []string // rules whose configuration changed: started fresh
	Gone    []string // rules in the file that the configuration no longer has
}

// SaveState writes the state of every group to w, at now (the wall clock);
// it returns the number of groups written. It may run while values flow:
// each group is locked while it is written.
func (e *Engine) SaveState(w io.Writer, now time.Time) (int, error) {
	enc := &stateEncoder{b: make([]byte, 0, 64<<10)}
	enc.b = append(enc.b, stateMagic...)
	enc.uint(stateVersion)
	enc.int(now.UnixNano())
	e.mu.RLock()
	byRule := make([][]*group, len(e.rules))
	for k, g := range e.groups {
		byRule[k.rule] = append(byRule[k.rule], g)
	}
	unclaimed := make([][]groupKey, len(e.rules))
	blobs := make(map[groupKey][]byte, len(e.saved))
	for k, b := range e.saved {
		unclaimed[k.rule] = append(unclaimed[k.rule], k)
		blobs[k] = b
	}
	e.mu.RUnlock()
	enc.uint(uint64(len(e.rules)))
	total := 0
	// A rule's groups are written after their count, which is known once
	// the groups that never started have been left out.
	var groups, blob stateEncoder
	for ri, r := range e.rules {
		spec := r.Spec()
		enc.string(spec.Name)
		enc.string(spec.Fingerprint)
		groups.b = groups.b[:0]
		n := 0
		for _, g := range byRule[ri] {
			blob.b = blob.b[:0]
			if !g.save(&blob) {
				continue
			}
			groups.string(g.host)
			groups.string(g.label)
			groups.bytes(blob.b)
			n++
		}
		for _, k := range unclaimed[ri] {
			blob.b = blob.b[:0]
			if !e.carried(k, blobs[k], &blob) {
				continue
			}
			groups.string(k.host)
			groups.string(k.label)
			groups.bytes(blob.b)
			n++
		}
		enc.uint(uint64(n))
		enc.b = append(enc.b, groups.b...)
		total += n
	}
	enc.b = appendChecksum(enc.b)
	_, err := w.Write(enc.b)
	return total, err
}

func appendChecksum(b []byte) []byte {
	return binary.LittleEndian.AppendUint32(b, crc32.ChecksumIEEE(b))
}

// RestoreState reads a state file written by SaveState, before the engine
// sees any value. A file that is not one, truncated, of another version or
// corrupt is an error and restores nothing: the caller logs it and starts
// fresh. now (the wall clock) ages the saved state.
func (e *Engine) RestoreState(data []byte, now time.Time) (StateReport, error) {
	var rep StateReport
	if len(data) < len(stateMagic)+4 || !bytes.HasPrefix(data, []byte(stateMagic)) {
		return rep, errors.New("not a state file of the anomaly plugin")
	}
	body, sum := data[:len(data)-4], binary.LittleEndian.Uint32(data[len(data)-4:])
	if crc32.ChecksumIEEE(body) != sum {
		return rep, errors.New("its checksum does not match: truncated or corrupt")
	}
	d := &stateDecoder{b: body[len(stateMagic):]}
	if v := d.uint(); d.err == nil && v != stateVersion {
		return rep, fmt.Errorf("version %d, this plugin reads version %d", v, stateVersion)
	}
	rep.SavedAt = time.Unix(0, d.int()).UTC()
	index := map[string]int{}
	for i, r := range e.rules {
		index[r.Spec().Name] = i
	}
	saved := map[groupKey][]byte{}
	rules := d.length(2)
	for range rules {
		name, fingerprint, n := d.string(), d.string(), d.length(3)
		ri, known := index[name]
		switch {
		case d.err != nil:
		case !known:
			rep.Gone = append(rep.Gone, name)
		case e.rules[ri].Spec().Fingerprint != fingerprint:
			rep.Changed = append(rep.Changed, name)
			known = false
		default:
			rep.Rules++
		}
		for range n {
			host, label, blob := d.string(), d.string(), d.bytes()
			if known && d.err == nil {
				saved[groupKey{ri, host, label}] = blob
				rep.Groups++
			}
		}
	}
	if d.err == nil && len(d.b) != 0 {
		d.fail("%d bytes after the last rule", len(d.b))
	}
	if d.err != nil {
		return StateReport{}, fmt.Errorf("unreadable: %w", d.err)
	}
	e.mu.Lock()
	e.saved, e.savedAt, e.savedSwept = saved, rep.SavedAt, false
	e.restoreNow = now
	e.mu.Unlock()
	return rep, nil
}

// save writes the group's state; it reports false for a group with nothing
// to keep (never started).
func (g *group) save(enc *stateEncoder) bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	if !g.started {
		return false
	}
	enc.int(g.originNano)
	enc.int(g.stepNano)
	enc.int(g.latenessNano)
	enc.int(g.lastSlot)
	enc.int(unixNano(g.notified))
	a := &g.alert
	enc.uint(uint64(a.level))
	enc.int(int64(a.streak))
	enc.bool(a.rising)
	enc.uint(uint64(a.streakLevel))
	enc.int(unixNano(a.streakStart))
	enc.int(unixNano(a.notifiedAt))
	used := 0
	for i := range g.pending {
		if g.pending[i].used {
			used++
		}
	}
	enc.uint(uint64(used))
	for i := range g.pending {
		p := &g.pending[i]
		if !p.used {
			continue
		}
		enc.int(p.slot)
		enc.int(p.latest)
		enc.uint(uint64(len(p.values)))
		for _, v := range p.values {
			enc.uint(uint64(v.input))
			enc.float(v.v)
			enc.string(v.host)
		}
	}
	ps, ok := g.state.(persistent)
	enc.bool(ok)
	if ok {
		ps.saveState(enc)
	}
	return true
}

// restoreWindows reads the open slots and the rule's state.
func (g *group) restoreWindows(d *stateDecoder, lastSlot int64, ps persistent) {
	for range d.length(3) {
		slot, latest, n := d.int(), d.int(), d.length(10)
		if d.err == nil && slot >= lastSlot+int64(len(g.pending)) {
			// Saved while the ring had grown (a bulk load with one series
			// of the group silent): it grows again.
			g.grow(slot - lastSlot + 1)
		}
		if d.err != nil || slot < lastSlot || slot >= lastSlot+int64(len(g.pending)) {
			d.fail("a pending slot out of reach")
			return
		}
		p := g.slotAt(slot)
		p.latest = latest
		inputs := uint64(len(g.rule.Spec().Inputs))
		for range n {
			input := d.uint()
			if d.err == nil && input >= inputs {
				d.fail("a pending value of input %d, of %d", input, inputs)
				return
			}
			p.values = append(p.values, pendingValue{input: int(input), v: d.float(), host: d.string()})
		}
	}
	if d.bool() {
		ps.loadState(d)
	} else {
		d.fail("no state saved for a kind that keeps one")
	}
	if d.err == nil && len(d.b) != 0 {
		d.fail("%d bytes left", len(d.b))
	}
}

// restore starts g from its saved state; on any problem it leaves g as
// new, to start with its first value. e.mu is held.
func (g *group) restore(e *Engine, blob []byte) bool {
	d := &stateDecoder{b: blob}
	state, lastSlot, notified, a, ok := g.restoreHead(d)
	if !ok {
		return false
	}
	// Saved longer ago than its windows span, the state says nothing of
	// now: the group starts its windows afresh but keeps its alert, so that
	// a FAILURE raised before still gets its OKAY.
	ps, keeps := state.(persistent)
	if keeps && e.restoreNow.Sub(e.savedAt) <= ps.memory(g.slots.Step) {
		g.restoreWindows(d, lastSlot, ps)
	}
	if d.err != nil {
		for i := range g.pending {
			g.pending[i].used = false
		}
		return false
	}
	g.started = true
	g.gen++
	g.epoch = g.clock.epoch.Load()
	g.lastSlot, g.notified, g.alert, g.state = lastSlot, notified, a, state
	// As after a start: the first slot waits for the lateness, so that every
	// series of the group is back before it is judged; the downtime is
	// skipped with the first value (resume).
	g.judged, g.resuming = false, true
	return true
}

// restoreHead reads a group's slot clock and alert, and sets up g's clock
// and a fresh state for them; false for a head SaveState did not write.
func (g *group) restoreHead(d *stateDecoder) (state RuleState, lastSlot int64, notified time.Time, a alertState, ok bool) {
	origin, step, lateness := d.int(), d.int(), d.int()
	lastSlot, notifiedNano := d.int(), d.int()
	level := d.uint()
	a.streak = int(d.int())
	a.rising = d.bool()
	streakLevel := d.uint()
	a.streakStart, a.notifiedAt = fromUnixNano(d.int()), fromUnixNano(d.int())
	// A slot clock no collectd interval gives is a file that was not written
	// by SaveState: its windows could be made of billions of slots.
	if d.err != nil || step < int64(minRestoredStep) || step > int64(maxRestoredStep) || lateness < 0 ||
		lateness > int64(maxPendingSlots)*step || level > uint64(Failure) || streakLevel > uint64(Failure) {
		return nil, 0, time.Time{}, a, false
	}
	a.level, a.streakLevel = Level(level), Level(streakLevel)
	clock := SlotClock{Origin: time.Unix(0, origin).UTC(), Step: time.Duration(step)}
	g.slots, g.lateness = clock, time.Duration(lateness)
	g.originNano, g.stepNano, g.latenessNano = origin, step, lateness
	g.pending = g.newRing(pendingSlotsFor(g.lateness, clock.Step))
	return g.rule.NewState(clock), lastSlot, fromUnixNano(notifiedNano), a, true
}

// carried is the blob of a group restored from the file but not claimed
// since (its host has not come back), to be saved again if its alert is
// raised: reduced to its slot clock and alert, with fresh windows - what it
// saved of them grows older with every save - so that the FAILURE raised
// before the restart still gets its OKAY however long the host is away.
func (e *Engine) carried(k groupKey, blob []byte, enc *stateEncoder) bool {
	g, ok := e.headOnly(k, blob)
	return ok && g.alert.level != OK && g.save(enc)
}

// headOnly is the group blob saved, with its slot clock and alert but
// fresh windows, on a clock of its own: a group whose series have not come
// back (carried, sweepSaved). False for a head SaveState did not write.
func (e *Engine) headOnly(k groupKey, blob []byte) (*group, bool) {
	g := e.newGroup(k, &eventClock{})
	state, lastSlot, notified, a, ok := g.restoreHead(&stateDecoder{b: blob})
	if !ok {
		return nil, false
	}
	g.started, g.state, g.lastSlot, g.notified, g.alert = true, state, lastSlot, notified, a
	return g, true
}

// sweepSaved treats the groups restored from the file whose series have
// not come back for IdleTimeout since as a live group without series: an
// alert that is not raised is forgotten, a raised one of a rule that ends
// it when its series are gone ends now (forgettable); one of a rule about
// silence stays, to be saved again (carried). e.mu is held.
func (e *Engine) sweepSaved() {
	for k, blob := range e.saved {
		if g, ok := e.headOnly(k, blob); !ok || g.forgettable(e.sink, e.idle) {
			delete(e.saved, k)
		}
	}
}

func unixNano(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixNano()
}

func fromUnixNano(n int64) time.Time {
	if n == 0 {
		return time.Time{}
	}
	return time.Unix(0, n).UTC()
}
