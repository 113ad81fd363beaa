//go:build !linux

package sidecar

// becomeSubreaper is a no-op off Linux: the bundle only runs on Linux, and
// other systems have no subreaper.
func becomeSubreaper() error { return nil }
