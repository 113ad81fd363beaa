package job

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/claude-bottle/claude-bottle/shell"
)

// Machine is the part of `smolvm machine ls --json` claude-bottle reads.
type Machine struct {
	Name      string            `json:"name"`
	State     string            `json:"state"`
	CreatedAt int64             `json:"created_at"`
	Labels    map[string]string `json:"labels"`
}

// ListMachines reads `smolvm machine ls --json`, the one reader of it (ls,
// stop and the job loop). A dry-run's empty answer is a nil list; smolvm's
// "[]" an empty one.
func ListMachines(ctx context.Context, r shell.Runner) ([]Machine, error) {
	out, err := shell.Output(ctx, r, "smolvm", "machine", "ls", "--json")
	if err != nil {
		return nil, fmt.Errorf("list machines: %w", err)
	}
	if out == "" {
		return nil, nil
	}
	ms := []Machine{}
	if err := json.Unmarshal([]byte(out), &ms); err != nil {
		return nil, fmt.Errorf("list machines: smolvm printed %q: %v", out, err)
	}
	return ms, nil
}
