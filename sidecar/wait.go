package sidecar

import (
	"context"
	"fmt"
	"time"
)

// waitReady returns once the ready marker exists, or an error after timeout.
func waitReady(ctx context.Context, ready string, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	for !fileExists(ready) {
		select {
		case <-ctx.Done():
			return fmt.Errorf("bundle not ready after %s: %s does not exist (see the bundle's log)", timeout, ready)
		case <-time.After(pollEvery):
		}
	}
	return nil
}
