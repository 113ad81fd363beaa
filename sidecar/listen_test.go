package sidecar

import (
	"io"
	"net"
	"strings"
	"testing"

	"github.com/claude-bottle/claude-bottle/bundle"
)

// routeTable is /proc/net/route with a default route via iface ("" for none).
func routeTable(defaultVia string) string {
	t := "Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT\n"
	if defaultVia != "" {
		t += defaultVia + "\t00000000\t010011AC\t0003\t0\t0\t0\t00000000\t0\t0\t0\n"
	}
	return t + "eth0\t000011AC\t00000000\t0001\t0\t0\t0\t0000FFFF\t0\t0\t0\n" +
		"eth1\t000012AC\t00000000\t0001\t0\t0\t0\t0000FFFF\t0\t0\t0\n"
}

func fakeNet(defaultVia string, addrs map[string]string) netInfo {
	return netInfo{
		routes: func() (io.ReadCloser, error) { return io.NopCloser(strings.NewReader(routeTable(defaultVia))), nil },
		addrs: func() (map[string][]net.IP, error) {
			out := map[string][]net.IP{}
			for iface, ips := range addrs {
				for _, ip := range strings.Fields(ips) {
					out[iface] = append(out[iface], net.ParseIP(ip))
				}
			}
			return out, nil
		},
	}
}

// TestListenHostIsTheBottleNetworksOnly: on docker the daemons bind the
// address off the default route (the --internal bottle network), never the
// bridge that other containers share (issue 10, finding 6).
func TestListenHostIsTheBottleNetworksOnly(t *testing.T) {
	docker := fakeNet("eth0", map[string]string{"eth0": "172.17.0.4", "eth1": "172.18.0.2"})
	if got, err := docker.listenHost(bundle.ListenBottleNetwork); err != nil || got != "172.18.0.2" {
		t.Errorf("bottle-network: %q, %v; want 172.18.0.2", got, err)
	}
	if got, err := docker.listenHost(bundle.ListenAll); err != nil || got != "0.0.0.0" {
		t.Errorf("all: %q, %v", got, err)
	}
	for name, n := range map[string]netInfo{
		"only the way out":        fakeNet("eth0", map[string]string{"eth0": "172.17.0.4"}),
		"no default route":        fakeNet("", map[string]string{"eth0": "172.17.0.4", "eth1": "172.18.0.2"}),
		"two candidate addresses": fakeNet("eth0", map[string]string{"eth0": "172.17.0.4", "eth1": "172.18.0.2 172.19.0.2"}),
	} {
		if got, err := n.listenHost(bundle.ListenBottleNetwork); err == nil {
			t.Errorf("%s: listens on %s, want an error (fail closed)", name, got)
		}
	}
	if _, err := docker.listenHost("everywhere"); err == nil {
		t.Error("an unknown mode was accepted")
	}
}
