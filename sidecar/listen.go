package sidecar

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"os"
	"strings"

	"github.com/claude-bottle/claude-bottle/bundle"
)

// On docker the bundle sits on two networks: the bottle's internal one (the
// agent's) and bridge, its way out, which other containers share. Daemons
// that listened on every interface served those containers too (issue 10,
// finding 6), so they listen on the bottle network's address only. Which
// interface that is follows from how docker wires an --internal network: it
// never carries a default route. The way out does.

// netInfo is what listenHost reads of the bundle's network namespace.
type netInfo struct {
	// routes is /proc/net/route.
	routes func() (io.ReadCloser, error)
	// addrs lists each interface's IPv4 addresses (no loopback).
	addrs func() (map[string][]net.IP, error)
}

func hostNetInfo() netInfo {
	return netInfo{
		routes: func() (io.ReadCloser, error) { return os.Open("/proc/net/route") },
		addrs:  interfaceAddrs,
	}
}

// listenHost is the address the daemons bind for the spec's Listen mode.
func (n netInfo) listenHost(mode string) (string, error) {
	switch mode {
	case bundle.ListenAll:
		return "0.0.0.0", nil
	case bundle.ListenBottleNetwork, "":
	default:
		return "", fmt.Errorf("listen address: unknown mode %q", mode)
	}
	out, err := n.defaultRouteInterface()
	if err != nil {
		return "", fmt.Errorf("listen address: %w", err)
	}
	addrs, err := n.addrs()
	if err != nil {
		return "", fmt.Errorf("listen address: %w", err)
	}
	var found []string
	for iface, ips := range addrs {
		if iface == out {
			continue // the way out: bridge, shared with other containers
		}
		for _, ip := range ips {
			found = append(found, ip.String()+" ("+iface+")")
		}
	}
	if len(found) != 1 {
		return "", fmt.Errorf("listen address: want exactly one IPv4 address off the default route (%s), found %d: %s",
			orNone(out), len(found), strings.Join(found, ", "))
	}
	host, _, _ := strings.Cut(found[0], " ")
	return host, nil
}

func orNone(s string) string {
	if s == "" {
		return "no default route"
	}
	return "default route via " + s
}

// defaultRouteInterface reads /proc/net/route for the interface of the
// default route ("" when there is none).
func (n netInfo) defaultRouteInterface() (string, error) {
	f, err := n.routes()
	if err != nil {
		return "", err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		// Iface Destination Gateway Flags …; the default route's destination and mask are 0.
		if len(fields) >= 8 && fields[1] == "00000000" && fields[7] == "00000000" {
			return fields[0], nil
		}
	}
	return "", sc.Err()
}

func interfaceAddrs() (map[string][]net.IP, error) {
	ifaces, err := net.Interfaces()
	if err != nil {
		return nil, err
	}
	out := map[string][]net.IP{}
	for _, ifc := range ifaces {
		if ifc.Flags&net.FlagLoopback != 0 || ifc.Flags&net.FlagUp == 0 {
			continue
		}
		addrs, err := ifc.Addrs()
		if err != nil {
			return nil, err
		}
		for _, a := range addrs {
			if ipn, ok := a.(*net.IPNet); ok && ipn.IP.To4() != nil {
				out[ifc.Name] = append(out[ifc.Name], ipn.IP)
			}
		}
	}
	return out, nil
}

// dialHost is where the init checks a daemon listening on host.
func dialHost(host string) string {
	if host == "" || host == "0.0.0.0" {
		return "127.0.0.1"
	}
	return host
}
