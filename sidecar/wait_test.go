package sidecar

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestWaitReady(t *testing.T) {
	t.Parallel()
	ready := filepath.Join(t.TempDir(), "ready")
	go func() {
		time.Sleep(200 * time.Millisecond)
		os.WriteFile(ready, nil, 0o644)
	}()
	if err := waitReady(context.Background(), ready, 5*time.Second); err != nil {
		t.Fatal(err)
	}
}

func TestWaitReadyTimeout(t *testing.T) {
	t.Parallel()
	ready := filepath.Join(t.TempDir(), "ready")
	start := time.Now()
	err := waitReady(context.Background(), ready, 200*time.Millisecond)
	if err == nil || !strings.Contains(err.Error(), "bundle not ready after 200ms: "+ready+" does not exist") {
		t.Fatalf("err = %v", err)
	}
	if took := time.Since(start); took > 2*time.Second {
		t.Errorf("timeout took %s", took)
	}
}
