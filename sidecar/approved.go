package sidecar

import "github.com/claude-bottle/claude-bottle/supervise"

// approvedHosts reads the hosts the operator approved from supervise's
// store, so that a restarted bundle's pipelock config keeps them (the init
// renders it; the supervise daemon, unprivileged, cannot).
func approvedHosts(requestsDir, decisionsDir string) func() ([]string, error) {
	return func() ([]string, error) {
		s, err := supervise.Open(requestsDir, decisionsDir)
		if err != nil {
			return nil, err
		}
		return s.ApprovedHosts(), nil
	}
}
