package bridge

// What the external tests (package bridge_test, which may import the fakes)
// need of the bridge's insides.
const (
	MaxValues    = maxValues
	RingCapacity = ringCapacity
)

var RingRefused = ringRefused

// ResetWriteErrors starts the write errors' log back-off from the first.
func ResetWriteErrors() { writeErrors.seen.Store(0) }
