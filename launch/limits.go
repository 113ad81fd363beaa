package launch

import (
	"regexp"
	"strconv"
	"strings"
)

// Limits are what one container (or machine) of a bottle may use. The guest
// is hostile: without limits a flood of connections or calls makes the host
// pay (issue 10, finding 11).
type Limits struct {
	// MemoryMiB is the memory ceiling in MiB (docker --memory, smolvm --mem).
	MemoryMiB int
	// Pids caps the number of processes (docker --pids-limit; a microVM has its own kernel).
	Pids int
	// CPUs is how many CPUs' worth of time it may use (docker --cpus; smolvm
	// --cpus takes whole CPUs, rounded up).
	CPUs string
}

// Defaults of the limit flags (README, "launch flags").
const (
	DefaultAgentMemory  = "8g"
	DefaultAgentPids    = 4096
	DefaultAgentCPUs    = "2"
	DefaultBundleMemory = "1g"
	DefaultBundlePids   = 512
	DefaultBundleCPUs   = "1"
)

// DefaultAgentLimits and DefaultBundleLimits are the flags' defaults.
func DefaultAgentLimits() LimitOptions {
	return LimitOptions{Memory: DefaultAgentMemory, Pids: DefaultAgentPids, CPUs: DefaultAgentCPUs}
}

func DefaultBundleLimits() LimitOptions {
	return LimitOptions{Memory: DefaultBundleMemory, Pids: DefaultBundlePids, CPUs: DefaultBundleCPUs}
}

// LimitOptions are the limit flags as typed.
type LimitOptions struct {
	Memory string // a docker size: 512m, 8g, …
	Pids   int
	CPUs   string
}

var (
	sizeRE = regexp.MustCompile(`^([0-9]{1,9})([kmgKMG]?)$`)
	cpusRE = regexp.MustCompile(`^[0-9]{1,4}(\.[0-9]{1,2})?$`)
)

// parseLimits checks one set of limit flags (flag names start with prefix).
func parseLimits(prefix string, o LimitOptions) (Limits, error) {
	m := sizeRE.FindStringSubmatch(o.Memory)
	if m == nil {
		return Limits{}, badInput("invalid --%smemory %q: want a size such as 512m or 8g", prefix, o.Memory)
	}
	n, _ := strconv.ParseInt(m[1], 10, 64)
	unit := map[string]int64{"": 1, "k": 1 << 10, "m": 1 << 20, "g": 1 << 30}[strings.ToLower(m[2])]
	mib := int(n * unit >> 20)
	if mib < 64 {
		return Limits{}, badInput("invalid --%smemory %q: at least 64m", prefix, o.Memory)
	}
	if o.Pids < 64 {
		return Limits{}, badInput("invalid --%spids %d: at least 64", prefix, o.Pids)
	}
	if !cpusRE.MatchString(o.CPUs) {
		return Limits{}, badInput("invalid --%scpus %q: want a number such as 1 or 1.5", prefix, o.CPUs)
	}
	if f, _ := strconv.ParseFloat(o.CPUs, 64); f < 0.1 {
		return Limits{}, badInput("invalid --%scpus %q: at least 0.1", prefix, o.CPUs)
	}
	return Limits{MemoryMiB: mib, Pids: o.Pids, CPUs: o.CPUs}, nil
}

// dockerArgs are the limits as docker create/run flags.
func (l Limits) dockerArgs() []string {
	return []string{
		"--memory", strconv.Itoa(l.MemoryMiB) + "m",
		"--memory-swap", strconv.Itoa(l.MemoryMiB) + "m", // no swap beyond the ceiling
		"--pids-limit", strconv.Itoa(l.Pids),
		"--cpus", l.CPUs,
	}
}

// smolvmArgs are the limits as smolvm machine create flags: whole CPUs, MiB.
func (l Limits) smolvmArgs() []string {
	f, _ := strconv.ParseFloat(l.CPUs, 64)
	cpus := int(f)
	if float64(cpus) < f {
		cpus++
	}
	return []string{"--cpus", strconv.Itoa(cpus), "--mem", strconv.Itoa(l.MemoryMiB)}
}

// bundleHardening: the bundle's init starts each daemon as a user of its own
// (sidecar), so the container keeps only what the init and the operator
// commands (docker exec, as root) need, gains nothing through setuid, and
// forwards no packets: the agent's only way out is through a daemon.
func bundleHardening() []string {
	return []string{
		"--cap-drop", "ALL",
		"--cap-add", "CHOWN", // the init hands the daemons' files to their users
		"--cap-add", "DAC_OVERRIDE", // root reads the daemons' state (supervise ls, approve)
		"--cap-add", "FOWNER", // and sets its modes
		"--cap-add", "SETUID", "--cap-add", "SETGID", // the init starts each daemon as its user
		"--cap-add", "KILL", // signals to daemons of other users (stop, pipelock's reload)
		"--security-opt", "no-new-privileges",
		"--sysctl", "net.ipv4.ip_forward=0", // the bundle routes nothing, for anyone
	}
}

// agentHardening: the agent runs as node with no capabilities; root runs
// only provisioning (tar with owners and modes, the CA trust) and
// the container keeps just that. No NET_RAW: no spoofed frames.
func agentHardening() []string {
	return []string{
		"--cap-drop", "ALL",
		"--cap-add", "CHOWN", "--cap-add", "FOWNER", "--cap-add", "FSETID", // tar -x keeps owners and modes
		"--cap-add", "DAC_OVERRIDE", // root writes into node's home
		"--cap-add", "SETUID", "--cap-add", "SETGID", // docker exec -u node, runuser
		"--security-opt", "no-new-privileges",
	}
}
