package supervise

import "fmt"

// Limits on what the agent can make supervise hold. Each refusal names its
// limit, so the agent (and the operator reading its transcript) knows why.
const (
	// MaxBody caps one HTTP request's body: a tool call with the longest
	// fields below fits many times over. A longer body gets 413.
	MaxBody = 64 << 10
	// MaxURL caps report_block's url (what a browser's address bar holds;
	// longer is a payload, not a blocked request).
	MaxURL = 2048
	// MaxReason caps the reason of request_egress and report_block.
	MaxReason = 2048
	// MaxDescription caps request_capability's description.
	MaxDescription = 4096
	// MaxHost caps request_egress's host (DNS allows 253 bytes).
	MaxHost = 253
	// MaxPending caps the requests waiting for a decision: beyond it a new
	// request is refused until the operator answers some.
	MaxPending = 64
	// DefaultMaxWaits caps the calls that wait at once (Options.MaxWaits):
	// each holds a goroutine and an HTTP stream until its deadline.
	DefaultMaxWaits = 32
)

// checkLen refuses a field longer than max bytes.
func checkLen(field, value string, max int) error {
	if len(value) > max {
		return fmt.Errorf("%s is %d bytes long; supervise's limit is %d", field, len(value), max)
	}
	return nil
}
