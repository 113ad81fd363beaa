package main

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/google/shlex"
	"github.com/rogpeppe/go-internal/txtar"

	"github.com/claude-bottle/claude-bottle/shell"
)

// secretValue is what the scripts and in-process tests set as
// ANTHROPIC_API_KEY; it must never appear in any transcript or output.
const secretValue = "sk-ant-secret-value-123"

// TestSecurityInvariants checks every golden transcript (the want.* files
// of testscripts/) with one helper, checkTranscript.
func TestSecurityInvariants(t *testing.T) {
	files, err := filepath.Glob("testscripts/*/*.txtar")
	must(t, err)
	checked := 0
	for _, f := range files {
		ar, err := txtar.ParseFile(f)
		must(t, err)
		for _, af := range ar.Files {
			if strings.HasPrefix(af.Name, "want.") && strings.Contains(string(af.Data), "go-test-script") {
				t.Errorf("%s:%s holds a temporary path: the golden is not reproducible", f, af.Name)
			}
			if strings.HasPrefix(af.Name, "want.") {
				checkTranscript(t, f+":"+af.Name, string(af.Data), execArgs(string(ar.Comment)))
				checkClaudeSetup(t, f+":"+af.Name, string(af.Data))
				checked++
			}
		}
	}
	if checked < 10 {
		t.Fatalf("only %d golden transcripts found", checked)
	}
}

// execArgs collects the host paths the script's launches name.
func execArgs(script string) map[string]bool {
	allowed := map[string]bool{}
	for _, line := range strings.Split(script, "\n") {
		words, _ := shlex.Split(line)
		for i := 0; i+1 < len(words); i++ {
			switch words[i] {
			case "--cwd":
				allowed[words[i+1]+"/.git"] = true
			case "--prompt", "--skill":
				allowed[words[i+1]] = true
			}
		}
	}
	return allowed
}

// checkTranscript asserts, line by line:
//   - ports are published on 127.0.0.1 only, and never on the docker backend;
//   - no --privileged, no host mounts, no host network;
//   - every container drops all capabilities but a fixed few, gains none
//     (no-new-privileges) and has memory, pids and CPU limits; the bundle
//     forwards no packets;
//   - smolvm allowlists are exactly the design's: tsi or virtio-net, with the
//     DNS filter on (--allow-host localhost and nothing else) and limits;
//   - the agent runs with Claude Code's non-essential traffic off;
//   - pipelock's config is strict and enforcing (what keeps it from
//     resolving names off the allowlist) and has no side-channel hosts;
//   - files copied into a guest come only from --cwd, --prompt and --skill;
//   - no secret value anywhere; secrets go by name.
func checkTranscript(t errorer, where, text string, allowedSources map[string]bool) {
	if strings.Contains(text, secretValue) {
		t.Errorf("%s: a secret value appears", where)
	}
	checkPipelockConfig(t, where, text)
	checkEgress(t, where, text)
	checkBottleSecret(t, where, text)
	intoAgent := false
	for n, line := range strings.Split(text, "\n") {
		at := func(format string, a ...any) {
			t.Errorf("%s line %d: "+format+"\n%s", append([]any{where, n + 1}, append(a, line)...)...)
		}
		if src, ok := noteSource(line); ok {
			if intoAgent && !allowedSources[src] {
				at("copies host path %s into the guest", src)
			}
			continue
		}
		if strings.HasPrefix(line, "#") || strings.HasPrefix(line, " ") || line == "" {
			continue
		}
		words, err := shlex.Split(line)
		if err != nil || len(words) < 2 {
			continue
		}
		intoAgent = false
		switch {
		case words[0] == "docker" && (words[1] == "create" || words[1] == "run"):
			checkDockerRun(at, words)
		case words[0] == "smolvm" && len(words) > 2 && words[2] == "create" && !contains(words, "--help"):
			checkSmolvmCreate(at, words)
		}
		if words[0] == "docker" && words[1] == "cp" && len(words) == 4 && words[2] != "-" {
			at("docker cp from a host path")
		}
		if (words[0] == "docker" && words[1] == "cp" && strings.Contains(words[3], "-agent:")) ||
			(words[0] == "smolvm" && contains(words, "tar")) {
			intoAgent = true
		}
	}
}

// checkBottleSecret: a gate URL in a shown gitconfig has the bottle's
// secret as its placeholder (the real one is never shown), and no command
// line carries the gate's or supervise's URL, where the secret would be:
// the MCP registration reads its URL in the guest, the guest's environment
// names neither.
func checkBottleSecret(t errorer, where, text string) {
	for n, line := range strings.Split(text, "\n") {
		if strings.HasPrefix(strings.TrimLeft(line, "# "), `[url "git://`) && !strings.Contains(line, "/<bottle-secret>/") {
			t.Errorf("%s line %d: a gate URL without the secret's placeholder:\n%s", where, n+1, line)
		}
		if strings.Contains(line, "mcp add") && strings.Contains(line, "supervise http") {
			t.Errorf("%s line %d: supervise's URL in a command line:\n%s", where, n+1, line)
		}
		if strings.Contains(line, "GIT_GATE_URL=") || strings.Contains(line, "MCP_SUPERVISE_URL=") {
			t.Errorf("%s line %d: a gate or supervise URL in the guest's environment:\n%s", where, n+1, line)
		}
	}
}

// noteSource is the host path of a dry-run note "owner mode path <- source".
func noteSource(line string) (string, bool) {
	if !strings.HasPrefix(line, "# ") {
		return "", false
	}
	_, src, ok := strings.Cut(line, " <- ")
	src, _, _ = strings.Cut(src, " (")
	return src, ok
}

// allowedCaps are the only capabilities a bottle's container may add back
// after --cap-drop ALL (launch/limits.go says which step needs which).
var allowedCaps = map[string]bool{"CHOWN": true, "DAC_OVERRIDE": true, "FOWNER": true, "FSETID": true,
	"SETUID": true, "SETGID": true, "KILL": true}

func checkDockerRun(at func(string, ...any), w []string) {
	backend, role := "", ""
	seen := map[string]bool{}
	for i, a := range w {
		next := ""
		if i+1 < len(w) {
			next = w[i+1]
		}
		seen[a+" "+next] = true
		seen[a] = true
		switch {
		case a == "--label" && strings.HasPrefix(next, "claude-bottle.backend="):
			backend = strings.TrimPrefix(next, "claude-bottle.backend=")
		case a == "--label" && strings.HasPrefix(next, "claude-bottle.role="):
			role = strings.TrimPrefix(next, "claude-bottle.role=")
		case a == "--cap-add" && !allowedCaps[next]:
			at("--cap-add %s is never used", next)
		case a == "--privileged" || a == "-v" || a == "--volume" || a == "--mount":
			at("%s is never used", a)
		case a == "--network" && next == "host":
			at("host network")
		case a == "-e" && strings.Contains(next, "=") && isSecretName(strings.SplitN(next, "=", 2)[0]):
			at("secret %s passed by value", next)
		}
	}
	for i, a := range w {
		if a != "-p" && a != "--publish" {
			continue
		}
		if backend == "docker" {
			at("the docker backend publishes nothing")
		}
		if i+1 >= len(w) || !strings.HasPrefix(w[i+1], "127.0.0.1::") {
			at("published on something other than 127.0.0.1")
		}
	}
	if role != "agent" && role != "bundle" {
		return // not a bottle's container (e.g. a test's)
	}
	for _, need := range []string{"--cap-drop ALL", "--security-opt no-new-privileges", "--memory", "--pids-limit", "--cpus"} {
		if !seen[need] {
			at("the %s container lacks %s", role, need)
		}
	}
	if role == "bundle" && !seen["--sysctl net.ipv4.ip_forward=0"] {
		at("the bundle forwards packets (no --sysctl net.ipv4.ip_forward=0)")
	}
	if role == "agent" && !seen["-e CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC=1"] {
		at("the agent runs with Claude Code's non-essential traffic on")
	}
}

// checkPipelockConfig checks the pipelock config a dry-run shows (as "#"
// note lines): the keys are read with their indentation and "#" dropped.
func checkPipelockConfig(t errorer, where, text string) {
	lines := map[string]bool{}
	for _, l := range strings.Split(text, "\n") {
		lines[strings.TrimSpace(strings.TrimPrefix(l, "#"))] = true
	}
	if !lines["fetch_proxy:"] {
		return
	}
	for _, need := range []string{"mode: strict", "enforce: true"} {
		if !lines[need] {
			t.Errorf("%s: pipelock's config lacks %q (strict and enforcing: no lookup of names off the allowlist)", where, need)
		}
	}
	for _, bad := range []string{"agents:", "websocket_proxy:", `- "sentry.io"`, `- "statsig.anthropic.com"`} {
		if lines[bad] {
			t.Errorf("%s: pipelock's config has %s", where, bad)
		}
	}
}

func checkSmolvmCreate(at func(string, ...any), w []string) {
	var cidrs, hosts []string
	net := false
	seen := map[string]bool{}
	for i, a := range w {
		if a == "--" {
			break
		}
		next := ""
		if i+1 < len(w) {
			next = w[i+1]
		}
		seen[a] = true
		seen[a+" "+next] = true
		switch a {
		case "--allow-cidr":
			cidrs = append(cidrs, next)
		case "--allow-host":
			hosts = append(hosts, next)
		case "--net":
			net = true
		case "-v", "--volume", "-p", "--port", "--outbound-localhost-only", "--net-backend":
			at("%s is never used", a)
		case "-e":
			if k, _, _ := strings.Cut(next, "="); isSecretName(k) {
				at("secret %s passed by value (smolvm persists -e values)", k)
			}
		case "--secret-env":
			if k, v, _ := strings.Cut(next, "="); k != v && v != egressTokenEnv {
				at("secret reference %s is not NAME=NAME (or the bottle token's)", next)
			}
		}
	}
	got := strings.Join(cidrs, " ")
	tsi := net && got == "127.0.0.1/32"
	virtio := !net && got == "100.96.0.1/32 127.0.0.1/32"
	if !tsi && !virtio {
		at("allowlist %q (net %v) is neither tsi nor virtio-net", got, net)
	}
	if strings.Join(hosts, " ") != "localhost" {
		at("--allow-host %q: want exactly localhost (the DNS filter on, nothing opened)", hosts)
	}
	for _, need := range []string{"--cpus", "--mem", "-e CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC=1"} {
		if !seen[need] {
			at("the machine lacks %s", need)
		}
	}
}

func isSecretName(k string) bool {
	return k == "ANTHROPIC_API_KEY" || k == "CLAUDE_CODE_OAUTH_TOKEN"
}

func contains(s []string, v string) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}

type errorer interface{ Errorf(format string, a ...any) }

type collect []string

func (c *collect) Errorf(format string, a ...any) { *c = append(*c, format) }

// TestInvariantsCatchViolations: each violation is caught.
func TestInvariantsCatchViolations(t *testing.T) {
	bad := []string{
		"docker create --name b --label claude-bottle.backend=smolmachines -p 0.0.0.0::8888 img",
		"docker create --name b --label claude-bottle.backend=docker -p 127.0.0.1::8888 img",
		"docker run --privileged img",
		"docker run -v /:/host img",
		"docker run -e ANTHROPIC_API_KEY=x img",
		"docker run --cap-add NET_RAW img",
		agentRun(strings.Replace(goodAgentRun, "--cap-drop ALL ", "", 1)),
		agentRun(strings.Replace(goodAgentRun, "--security-opt no-new-privileges ", "", 1)),
		agentRun(strings.Replace(goodAgentRun, "--pids-limit 4096 ", "", 1)),
		agentRun(strings.Replace(goodAgentRun, "-e CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC=1 ", "", 1)),
		strings.Replace(agentRun(goodAgentRun), "role=agent", "role=bundle", 1), // a bundle that forwards packets
		"# root 0644 /etc/claude-bottle/pipelock.yaml\n    fetch_proxy:\n    mode: balanced\n    enforce: true\n",
		"# root 0644 /etc/claude-bottle/pipelock.yaml\n    fetch_proxy:\n    mode: strict\n    enforce: true\n    api_allowlist:\n      - \"sentry.io\"\n",
		smolCreate("--net --allow-cidr 0.0.0.0/0 --allow-host localhost"),
		smolCreate("--allow-cidr 127.0.0.1/32 --allow-host localhost"),
		smolCreate("--net --allow-cidr 127.0.0.1/32"), // DNS filter off
		smolCreate("--net --allow-cidr 127.0.0.1/32 --allow-host localhost --allow-host evil.example"),
		smolCreate("--net --allow-cidr 127.0.0.1/32 --allow-host localhost -e ANTHROPIC_API_KEY=x"),
		smolCreate("--net --allow-cidr 127.0.0.1/32 --allow-host localhost --secret-env ANTHROPIC_API_KEY=OTHER"),
		strings.Replace(smolCreate("--net --allow-cidr 127.0.0.1/32 --allow-host localhost"), "--mem 8192 ", "", 1),
		"docker cp /etc/passwd a-agent:/",
		"docker cp - x-agent:/\n# root 0600 /home/node/.ssh/id <- /home/me/.ssh/id_ed25519",
		"echo " + secretValue,
		"# node 0644 /home/node/.gitconfig\n#     [url \"git://127.0.0.1:49418/origin.git\"]",
		"smolvm machine exec --name m -w /home/node/workspace -- runuser -u node -- claude mcp add --scope user --transport http supervise http://127.0.0.1:49100/",
		agentRun(goodAgentRun + "-e MCP_SUPERVISE_URL=http://supervise:9100/ "),
	}
	for _, b := range bad {
		var c collect
		checkTranscript(&c, "test", strings.ReplaceAll(b, "\\n", "\n"), map[string]bool{})
		if len(c) == 0 {
			t.Errorf("not caught: %s", b)
		}
	}
	for _, good := range []string{agentRun(goodAgentRun), smolCreate("--net --allow-cidr 127.0.0.1/32 --allow-host localhost")} {
		var c collect
		if checkTranscript(&c, "test", good, map[string]bool{}); len(c) > 0 {
			t.Errorf("a good line is refused (%v): %s", c, good)
		}
	}
}

const goodAgentRun = "--cap-drop ALL --cap-add CHOWN --security-opt no-new-privileges --memory 8192m --pids-limit 4096 --cpus 2 " +
	"-e CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC=1 "

func agentRun(flags string) string {
	return "docker run --detach --name b-agent --label claude-bottle.backend=docker --label claude-bottle.role=agent " + flags + "img sleep infinity"
}

func smolCreate(flags string) string {
	return "smolvm machine create --name m --cpus 2 --mem 8192 " + flags + " -e CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC=1 -- sleep infinity"
}

func TestMain_secretValueIsUsed(t *testing.T) {
	b, err := os.ReadFile("testscripts/smolmachines/launch_detach.txtar")
	must(t, err)
	if !strings.Contains(string(b), secretValue) {
		t.Fatal("the scripts no longer set the secret the invariants look for")
	}
}

// claudeFixtureSecrets are the secret values of the Claude setup fixtures
// (testscripts/*/claude_config.txtar), and the last 20 characters of the
// scripts' API key (what the guest's .claude.json approves): none may
// appear in any golden.
var claudeFixtureSecrets = []string{
	"sk-ant-oat01-golden-credential", "golden-transcript-text", "golden-history-prompt",
	"golden-api-key-helper", "ghp_goldenenvsecret0000000000000", "golden-db-password",
	"sk-ant-api03-golden-primary-key", "golden-account@example.com", "golden-mcp-header-token",
	"golden-stdio-env-secret", "golden-outside-the-tree", "golden-ide-lock-token",
	secretValue[len(secretValue)-20:],
}

// neverInClaudeDir are the entries of ~/.claude that must never be placed
// in a guest (claudecfg's left-out lists): credentials, transcripts,
// history, Claude Code's own state, plugins, the host's global config.
var neverInClaudeDir = map[string]bool{
	".credentials.json": true, "projects": true, "history.jsonl": true, "todos": true,
	"shell-snapshots": true, "statsig": true, "ide": true, "local": true, "plugins": true,
	"logs": true, "cache": true, "file-history": true, "sessions": true, "debug": true,
	"paste-cache": true, "session-env": true, ".claude.json": true, ".config.json": true,
}

// placedPath is the guest path a transcript line says is placed: a line
// of the stand-ins' archive listing ("    1000:1000 0644 home/…") or a
// dry-run note ("# node 0644 /home/…"), without its leading slash.
var placedPath = regexp.MustCompile(`^(?:    \d+:\d+ \d{4}|# \S+ (?:\d{4}|-|link)) /?(\S+)`)

// checkClaudeSetup asserts, apart from checkTranscript: no excluded entry
// of ~/.claude, nor anything under a .git there, is ever placed in a
// guest; no secret of the Claude setup fixtures appears anywhere.
func checkClaudeSetup(t errorer, where, text string) {
	for _, s := range claudeFixtureSecrets {
		if strings.Contains(text, s) {
			t.Errorf("%s: a secret of the Claude setup fixture appears (%s)", where, s)
		}
	}
	for n, line := range strings.Split(text, "\n") {
		m := placedPath.FindStringSubmatch(line)
		if m == nil {
			continue
		}
		rest, ok := strings.CutPrefix(m[1], "home/node/.claude/")
		if !ok {
			continue
		}
		parts := strings.Split(strings.TrimSuffix(rest, "/"), "/")
		if neverInClaudeDir[parts[0]] || contains(parts, ".git") {
			t.Errorf("%s line %d: places %s, which never travels\n%s", where, n+1, m[1], line)
		}
	}
}

// TestClaudeSetupInvariantCatches: each violation is caught.
func TestClaudeSetupInvariantCatches(t *testing.T) {
	for _, bad := range []string{
		"docker cp - x-agent:/\n    1000:1000 0600 home/node/.claude/.credentials.json (70 bytes)",
		"    1000:1000 0644 home/node/.claude/projects/-home-me-app/session.jsonl (36 bytes)",
		"    1000:1000 0755 home/node/.claude/plugins/",
		"# node 0644 /home/node/.claude/history.jsonl",
		"# node 0644 /home/node/.claude/skills/review/.git/config",
		"#     \"DATABASE_URL\": \"postgres://app:golden-db-password@db/app\"",
		"#           \"ant-secret-value-123\"",
	} {
		var c collect
		if checkClaudeSetup(&c, "test", strings.ReplaceAll(bad, "\\n", "\n")); len(c) == 0 {
			t.Errorf("not caught: %s", bad)
		}
	}
	for _, good := range []string{"    1000:1000 0644 home/node/.claude/skills/projects/SKILL.md (3 bytes)",
		"    1000:1000 0644 home/node/workspace/.git/HEAD (21 bytes)", "# claude setup: left out ~/.claude/.credentials.json: credentials"} {
		var c collect
		if checkClaudeSetup(&c, "test", good); len(c) > 0 {
			t.Errorf("a good line is refused (%v): %s", c, good)
		}
	}
	b, err := os.ReadFile("testscripts/docker/claude_config.txtar")
	must(t, err)
	for _, s := range claudeFixtureSecrets[:len(claudeFixtureSecrets)-1] {
		if !strings.Contains(string(b), s) {
			t.Errorf("the Claude setup fixture no longer holds %s, which the invariant looks for", s)
		}
	}
}

// TestClaudeSetupAddsNoCommands: with 200 files of Claude setup a launch
// runs exactly as many commands as with none (claude_config_{0,200}).
func TestClaudeSetupAddsNoCommands(t *testing.T) {
	for _, b := range []string{"docker", "smolmachines"} {
		none, many := countCalls(t, "testscripts/"+b+"/claude_config_0.txtar"), countCalls(t, "testscripts/"+b+"/claude_config_200.txtar")
		if none != many || none == 0 {
			t.Errorf("%s: %d commands with no Claude setup, %d with 200 files", b, none, many)
		}
	}
}

// countCalls counts the commands of a golden's want.calls.
func countCalls(t *testing.T, path string) int {
	ar, err := txtar.ParseFile(path)
	must(t, err)
	for _, f := range ar.Files {
		if f.Name == "want.calls" {
			n := 0
			for _, l := range strings.Split(string(f.Data), "\n") {
				if l != "" && !strings.HasPrefix(l, " ") {
					n++
				}
			}
			return n
		}
	}
	t.Fatalf("%s has no want.calls", path)
	return 0
}

// TestSkillsDoNotAddCommands: with 20 skills a launch runs exactly as many
// commands as with 1 (the goldens provision_skills_{1,20}).
func TestSkillsDoNotAddCommands(t *testing.T) {
	count := func(path string) int { return countCalls(t, path) }
	for _, b := range []string{"docker", "smolmachines"} {
		one, twenty := count("testscripts/"+b+"/provision_skills_1.txtar"), count("testscripts/"+b+"/provision_skills_20.txtar")
		if one != twenty || one == 0 {
			t.Errorf("%s: %d commands with 1 skill, %d with 20", b, one, twenty)
		}
	}
}

// TestDryRunIsAShellScript: every dry-run golden parses as sh.
func TestDryRunIsAShellScript(t *testing.T) {
	files, err := filepath.Glob("testscripts/*/*dryrun*.txtar")
	must(t, err)
	for _, f := range files {
		ar, err := txtar.ParseFile(f)
		must(t, err)
		for _, af := range ar.Files {
			if af.Name != "want.stdout" {
				continue
			}
			cmd := exec.Command("sh", "-n")
			cmd.Stdin = strings.NewReader(string(af.Data))
			if out, err := cmd.CombinedOutput(); err != nil {
				t.Errorf("%s: sh -n: %v\n%s", f, err, out)
			}
		}
	}
	if len(files) < 3 {
		t.Fatalf("only %d dry-run goldens", len(files))
	}
}

// egressTokenEnv names the bottle token's variable (bundle.EgressTokenEnv).
const egressTokenEnv = "CLAUDE_BOTTLE_EGRESS_TOKEN"

// egressURL is the guest's ANTHROPIC_BASE_URL with egress on.
const egressURL = "https://egress.bottle.internal:8080"

// checkEgress asserts, apart from checkTranscript:
//   - egress's port 8080 is never published, nor asked for, on any backend;
//   - --add-host is only ever the bundle's egress.bottle.internal:127.0.0.1;
//   - with egress on (the bundle gets the bottle token by name), the
//     guest's credential variables are the bottle token: smolvm's
//     references name the token's variable, never a credential's own, and
//     a dry-run says so of docker's -e; the guest is pointed at egress;
//     pipelock's config has no model host on its allowlist or passthrough
//     and trusts egress's name;
//   - without egress, nothing points the guest at it.
func checkEgress(t errorer, where, text string) {
	egressOn := false
	var lines []string
	for _, l := range strings.Split(text, "\n") {
		lines = append(lines, l)
		if w, _ := shlex.Split(l); len(w) > 2 && w[0] == "docker" && w[1] == "create" && containsPair(w, "-e", egressTokenEnv) {
			egressOn = true
		}
	}
	checkEgressPipelock(t, where, text, egressOn)
	for n, line := range lines {
		at := func(format string, a ...any) {
			t.Errorf("%s line %d: "+format+"\n%s", append([]any{where, n + 1}, append(a, line)...)...)
		}
		if strings.HasPrefix(line, "#") || strings.HasPrefix(line, " ") {
			continue
		}
		w, err := shlex.Split(line)
		if err != nil || len(w) < 3 {
			continue
		}
		role := ""
		for i := 0; i+1 < len(w); i++ {
			if w[i] == "--label" && strings.HasPrefix(w[i+1], "claude-bottle.role=") {
				role = strings.TrimPrefix(w[i+1], "claude-bottle.role=")
			}
		}
		for i := 0; i+1 < len(w); i++ {
			a, next := w[i], w[i+1]
			switch {
			case (a == "-p" || a == "--publish" || a == "--port") && strings.HasSuffix(next, ":8080"):
				at("egress's port 8080 is published")
			case a == "--add-host" && (role != "bundle" || next != "egress.bottle.internal:127.0.0.1"):
				at("--add-host %s on the %s: only the bundle's egress name, to its own loopback", next, role)
			}
		}
		if w[0] == "docker" && w[1] == "port" && strings.HasPrefix(w[len(w)-1], "8080") {
			at("asks docker for egress's published port")
		}
		agent := role == "agent" && (w[1] == "run" || w[2] == "create")
		if !agent {
			continue
		}
		pointed := containsPair(w, "-e", "ANTHROPIC_BASE_URL="+egressURL)
		if pointed != egressOn {
			at("the guest's ANTHROPIC_BASE_URL is egress's: %v, egress runs: %v", pointed, egressOn)
		}
		if !egressOn {
			continue
		}
		for i := 0; i+1 < len(w); i++ {
			name, ref, _ := strings.Cut(w[i+1], "=")
			switch {
			case w[i] == "--secret-env" && isSecretName(name) && ref != egressTokenEnv:
				at("with egress on, the guest's %s is a reference to %s, not to the bottle token", name, ref)
			case w[i] == "-e" && w[0] == "smolvm" && isSecretName(name):
				at("with egress on, the machine gets %s by -e", name)
			case w[i] == "-e" && w[0] == "docker" && isSecretName(w[i+1]) && hasNotes(lines) &&
				!slices.Contains(lines, "# egress: the guest's "+w[i+1]+" is the bottle token (never shown), not your credential"):
				at("with egress on, nothing says the guest's %s is the bottle token", w[i+1])
			}
		}
	}
}

// checkEgressPipelock: with egress on, the dry-run's pipelock config (its
// "#" note lines) allows and passes through no model host, and trusts and
// passes through egress's name.
func checkEgressPipelock(t errorer, where, text string, egressOn bool) {
	lines := map[string]bool{}
	for _, l := range strings.Split(text, "\n") {
		lines[strings.TrimSpace(strings.TrimPrefix(l, "#"))] = true
	}
	if !egressOn || !lines["fetch_proxy:"] {
		return
	}
	for _, h := range []string{"api.anthropic.com", "claude.ai", "platform.claude.com", "anthropic.com", `"*.anthropic.com"`, "claude.com"} {
		if lines["- "+h] {
			t.Errorf("%s: with egress on, pipelock's config still lets %s through", where, h)
		}
	}
	if !lines["trusted_domains:"] || !lines["- egress.bottle.internal"] {
		t.Errorf("%s: with egress on, pipelock's config does not trust egress.bottle.internal", where)
	}
}

func containsPair(w []string, flag, value string) bool {
	for i := 0; i+1 < len(w); i++ {
		if w[i] == flag && w[i+1] == value {
			return true
		}
	}
	return false
}

// hasNotes: a dry-run transcript (it has "# " comment lines; a stand-in's
// call log has none).
func hasNotes(lines []string) bool {
	for _, l := range lines {
		if strings.HasPrefix(l, "# ") {
			return true
		}
	}
	return false
}

// TestEgressInvariantCatches: each violation is caught, and a good egress
// launch passes.
func TestEgressInvariantCatches(t *testing.T) {
	bundleOn := "docker create --name x-bundle --label claude-bottle.role=bundle --add-host egress.bottle.internal:127.0.0.1 -e ANTHROPIC_API_KEY -e " + egressTokenEnv + " img"
	smolOn := "smolvm machine create --name x-agent --label claude-bottle.role=agent --secret-env ANTHROPIC_API_KEY=" + egressTokenEnv +
		" -e ANTHROPIC_BASE_URL=" + egressURL + " -- sleep infinity"
	dockerOn := "docker run --detach --name x-agent --label claude-bottle.role=agent -e ANTHROPIC_API_KEY -e ANTHROPIC_BASE_URL=" + egressURL + " img"
	tokenNote := "# egress: the guest's ANTHROPIC_API_KEY is the bottle token (never shown), not your credential"
	for _, bad := range []string{
		"docker create --name x-bundle --label claude-bottle.role=bundle -p 127.0.0.1::8080 img",
		"docker port x-bundle 8080/tcp",
		"docker create --name x-bundle --label claude-bottle.role=bundle --add-host evil.example:10.0.0.1 img",
		"docker run --name x-agent --label claude-bottle.role=agent --add-host egress.bottle.internal:127.0.0.1 img",
		bundleOn + "\n" + strings.Replace(smolOn, "ANTHROPIC_API_KEY="+egressTokenEnv, "ANTHROPIC_API_KEY=ANTHROPIC_API_KEY", 1),
		bundleOn + "\n" + strings.Replace(smolOn, " -- ", " -e ANTHROPIC_API_KEY -- ", 1),
		bundleOn + "\n" + strings.Replace(smolOn, " -e ANTHROPIC_BASE_URL="+egressURL, "", 1),
		bundleOn + "\n# a dry-run\n" + dockerOn,                                            // no note that the key is the token
		"docker create --name x-bundle --label claude-bottle.role=bundle img\n" + dockerOn, // pointed at egress that does not run
		bundleOn + "\n# root 0644 /etc/claude-bottle/pipelock.yaml\n#     fetch_proxy:\n#     api_allowlist:\n#       - api.anthropic.com\n" +
			"#     trusted_domains:\n#       - egress.bottle.internal\n",
		bundleOn + "\n# root 0644 /etc/claude-bottle/pipelock.yaml\n#     fetch_proxy:\n#     api_allowlist:\n#       - egress.bottle.internal\n",
	} {
		var c collect
		checkEgress(&c, "test", strings.ReplaceAll(bad, "\\n", "\n"))
		if len(c) == 0 {
			t.Errorf("not caught: %s", bad)
		}
	}
	for _, good := range []string{bundleOn + "\n" + smolOn, bundleOn + "\n" + tokenNote + "\n" + dockerOn,
		"docker run --detach --name x-agent --label claude-bottle.role=agent -e ANTHROPIC_API_KEY img"} {
		var c collect
		if checkEgress(&c, "test", good); len(c) > 0 {
			t.Errorf("a good transcript is refused (%v): %s", c, good)
		}
	}
}

// The kubernetes backend's rules (checkKube), over the manifests each
// `kubectl create --filename=-` reads: in a transcript the List its note
// shows (Secrets redacted), in an in-process launch the List itself.
//   - no agent Pod is created unless a NetworkPolicy that selects it (its
//     matchLabels a subset of the Pod's labels) and isolates it both ways
//     was created before it: in an earlier create, or earlier in the same;
//   - the agent Pod has automountServiceAccountToken false and no
//     serviceAccountToken volume; no Secret is mounted into it (no secret
//     volume, projected or not, no envFrom);
//   - egress's port 8080 is in no Service, container port or policy;
//   - no secret value in any manifest: a Pod's variable of a secret's
//     name comes from a Secret (valueFrom), and a note shows no Secret's
//     value (only "<N bytes, never shown>" or the files' listing).

// kubeObj is what the rules read of an object.
type kubeObj struct {
	Kind     string `json:"kind"`
	Metadata struct {
		Name      string            `json:"name"`
		Namespace string            `json:"namespace"`
		Labels    map[string]string `json:"labels"`
	} `json:"metadata"`
	Data map[string]json.RawMessage `json:"data"`
	Spec struct {
		// Pod.
		AutomountServiceAccountToken *bool `json:"automountServiceAccountToken"`
		Volumes                      []struct {
			Name      string          `json:"name"`
			Secret    json.RawMessage `json:"secret"`
			Projected *struct {
				Sources []struct {
					Secret              json.RawMessage `json:"secret"`
					ServiceAccountToken json.RawMessage `json:"serviceAccountToken"`
				} `json:"sources"`
			} `json:"projected"`
		} `json:"volumes"`
		Containers []struct {
			Ports []struct {
				ContainerPort int `json:"containerPort"`
			} `json:"ports"`
			Env []struct {
				Name      string          `json:"name"`
				Value     string          `json:"value"`
				ValueFrom json.RawMessage `json:"valueFrom"`
			} `json:"env"`
			EnvFrom []struct {
				SecretRef json.RawMessage `json:"secretRef"`
			} `json:"envFrom"`
		} `json:"containers"`
		// NetworkPolicy.
		PodSelector *struct {
			MatchLabels map[string]string `json:"matchLabels"`
		} `json:"podSelector"`
		PolicyTypes []string   `json:"policyTypes"`
		Ingress     []kubeRule `json:"ingress"`
		Egress      []kubeRule `json:"egress"`
		// Service.
		Ports []struct {
			Port       int             `json:"port"`
			TargetPort json.RawMessage `json:"targetPort"`
		} `json:"ports"`
	} `json:"spec"`
}

type kubeRule struct {
	Ports []struct {
		Port json.RawMessage `json:"port"`
	} `json:"ports"`
}

// egressPort is egress's port: on the bundle's loopback only.
const egressPort = 8080

// kubeCreates are the Lists of a transcript's kubectl creates: the JSON of
// the note lines before each (from "# {" to "# }").
func kubeCreates(text string) [][]byte {
	var lists [][]byte
	var note []string
	for _, line := range strings.Split(text, "\n") {
		if strings.HasPrefix(line, "#") {
			note = append(note, line)
			continue
		}
		if strings.HasPrefix(line, "kubectl ") && strings.Contains(line, " create --filename=-") {
			var js []string
			in := false
			for _, n := range note {
				switch {
				case n == "# {":
					in = true
				case !in:
					continue
				}
				js = append(js, strings.TrimPrefix(strings.TrimPrefix(n, "#"), " "))
				if n == "# }" {
					break
				}
			}
			if len(js) > 0 { // a stand-in's log shows no manifest: checkKubeLog
				lists = append(lists, []byte(strings.Join(js, "\n")))
			}
		}
		if !strings.HasPrefix(line, " ") {
			note = nil
		}
	}
	return lists
}

// checkKube applies the rules to the Lists of one launch, in order;
// redacted: the Lists are notes (a Secret's values must not be there).
func checkKube(t errorer, where string, lists [][]byte, redacted bool) {
	type policy struct {
		ns     string
		labels map[string]string
	}
	var policies []policy
	for n, raw := range lists {
		at := func(format string, a ...any) {
			t.Errorf("%s: create %d: "+format, append([]any{where, n + 1}, a...)...)
		}
		var list struct {
			Items []kubeObj `json:"items"`
		}
		if err := json.Unmarshal(raw, &list); err != nil {
			at("not a List: %v\n%s", err, raw)
			continue
		}
		for _, o := range list.Items {
			id := o.Kind + " " + o.Metadata.Name
			switch o.Kind {
			case "NetworkPolicy":
				if o.Spec.PodSelector != nil && slices.Contains(o.Spec.PolicyTypes, "Ingress") && slices.Contains(o.Spec.PolicyTypes, "Egress") {
					policies = append(policies, policy{o.Metadata.Namespace, o.Spec.PodSelector.MatchLabels})
				}
				for _, r := range append(append([]kubeRule(nil), o.Spec.Ingress...), o.Spec.Egress...) {
					for _, p := range r.Ports {
						if string(p.Port) == strconv.Itoa(egressPort) {
							at("%s opens egress's port %d", id, egressPort)
						}
					}
				}
			case "Service":
				for _, p := range o.Spec.Ports {
					if p.Port == egressPort || string(p.TargetPort) == strconv.Itoa(egressPort) {
						at("%s exposes egress's port %d", id, egressPort)
					}
				}
			case "Secret":
				if !redacted {
					continue
				}
				for k, v := range o.Data {
					var s string
					if json.Unmarshal(v, &s) == nil && !regexp.MustCompile(`^<\d+ bytes, never shown>$`).MatchString(s) {
						at("%s shows the value of %s", id, k)
					}
				}
			case "Pod":
				for _, c := range o.Spec.Containers {
					for _, p := range c.Ports {
						if p.ContainerPort == egressPort {
							at("%s has egress's port %d", id, egressPort)
						}
					}
					for _, e := range c.Env {
						if isSecretName(e.Name) && (e.Value != "" || e.ValueFrom == nil) {
							at("%s has %s by value, not from a Secret", id, e.Name)
						}
					}
				}
				if o.Metadata.Labels[launchLabelRole] != "agent" {
					continue
				}
				isolated := false
				for _, p := range policies {
					if p.ns == o.Metadata.Namespace && len(p.labels) > 0 && subset(p.labels, o.Metadata.Labels) {
						isolated = true
					}
				}
				if !isolated {
					at("the agent %s is created before a NetworkPolicy that isolates it", id)
				}
				if a := o.Spec.AutomountServiceAccountToken; a == nil || *a {
					at("the agent %s mounts a service account token (automountServiceAccountToken not false)", id)
				}
				for _, v := range o.Spec.Volumes {
					if v.Secret != nil {
						at("the agent %s mounts the Secret volume %s", id, v.Name)
					}
					if v.Projected != nil {
						for _, s := range v.Projected.Sources {
							if s.Secret != nil || s.ServiceAccountToken != nil {
								at("the agent %s mounts a Secret or token through the projected volume %s", id, v.Name)
							}
						}
					}
				}
				for _, c := range o.Spec.Containers {
					for _, e := range c.EnvFrom {
						if e.SecretRef != nil {
							at("the agent %s takes a whole Secret as its environment (envFrom)", id)
						}
					}
				}
			}
		}
	}
}

// checkKubeLog applies the rules to what the kubectl stand-in logs of each
// created object (calls.log): the agent's Pod after the agent's policy in
// its namespace, no variable of a secret's name by value, 8080 in no
// Service.
func checkKubeLog(t errorer, where, text string) {
	policy := false
	for n, line := range strings.Split(text, "\n") {
		at := func(format string, a ...any) {
			t.Errorf("%s line %d: "+format+"\n%s", append([]any{where, n + 1}, append(a, line)...)...)
		}
		switch {
		case strings.HasPrefix(line, "  created namespace/"):
			policy = false
		case line == "  created networkpolicy.networking.k8s.io/agent":
			policy = true
		case line == "  created pod/agent" && !policy:
			at("the agent's Pod before its NetworkPolicy")
		case strings.HasPrefix(line, "    env "):
			if k, _, byValue := strings.Cut(strings.TrimPrefix(line, "    env "), "="); byValue && isSecretName(k) {
				at("%s by value, not from a Secret", k)
			}
		case strings.HasPrefix(line, "    clusterIP ") && slices.Contains(strings.Fields(line), strconv.Itoa(egressPort)):
			at("egress's port on the Service")
		}
	}
}

// launchLabelRole is launch.LabelRole.
const launchLabelRole = "claude-bottle.role"

func subset(sub, of map[string]string) bool {
	for k, v := range sub {
		if of[k] != v {
			return false
		}
	}
	return true
}

// TestKubeInvariants: the rules hold for every golden's kubernetes
// transcript (their notes) and for the manifests a full launch with egress
// really sends (kubectl's stdin, Secrets' values and all); there the
// secret value is in a Secret's data alone, never in an argv, a note, a
// Pod's manifest or the log.
func TestKubeInvariants(t *testing.T) {
	files, err := filepath.Glob("testscripts/kubernetes/*.txtar")
	must(t, err)
	checked, logs := 0, 0
	for _, f := range files {
		ar, err := txtar.ParseFile(f)
		must(t, err)
		for _, af := range ar.Files {
			if !strings.HasPrefix(af.Name, "want.") {
				continue
			}
			if lists := kubeCreates(string(af.Data)); len(lists) > 0 {
				checkKube(t, f+":"+af.Name, lists, true)
				checked++
			}
			if strings.Contains(string(af.Data), "  created pod/agent") {
				checkKubeLog(t, f+":"+af.Name, string(af.Data))
				logs++
			}
		}
	}
	if checked < 2 || logs < 2 {
		t.Fatalf("only %d kubernetes dry-run transcripts and %d stand-in logs found", checked, logs)
	}
	lists, rec, errb := kubeLaunchLists(t)
	checkKube(t, "launch", lists, false)
	checkKube(t, "launch's notes", kubeCreates(rec.Transcript()), true)
	if strings.Contains(rec.Transcript(), secretValue) || strings.Contains(errb, secretValue) {
		t.Errorf("the secret value is in an argv, a note or the log")
	}
	inSecret := false
	for _, raw := range lists {
		var list struct {
			Items []struct {
				Kind string            `json:"kind"`
				Data map[string][]byte `json:"data"`
			} `json:"items"`
		}
		must(t, json.Unmarshal(raw, &list))
		for _, o := range list.Items {
			for _, v := range o.Data {
				inSecret = inSecret || (o.Kind == "Secret" && strings.Contains(string(v), secretValue))
			}
		}
		if strings.Contains(string(raw), secretValue) {
			t.Errorf("the secret value is in a manifest as it is, not a Secret's (base64) data:\n%s", raw)
		}
	}
	if !inSecret {
		t.Errorf("the credential is in no Secret: the launch cannot have sent it")
	}
}

// kubeLaunchLists runs the full launch on kubernetes (egress on: the
// scripts' API key) and returns what each kubectl create read.
func kubeLaunchLists(t *testing.T) ([][]byte, *shell.Recorder, string) {
	t.Helper()
	dir := t.TempDir()
	rec := &shell.Recorder{}
	rec.Answer = func(i int, c shell.Cmd) shell.Reply { return kubeStandIn(dir, rec, i, c) }
	d, _, errb := testDeps(rec)
	if code := run(context.Background(), fullLaunch(t, "kubernetes"), d); code != 0 {
		t.Fatalf("full launch: exit %d: %s", code, errb)
	}
	var lists [][]byte
	for _, c := range rec.Calls() {
		if c.Argv[0] == "kubectl" && slices.Contains(c.Argv, "create") {
			lists = append(lists, c.Stdin)
		}
	}
	if len(lists) != 3 {
		t.Fatalf("%d kubectl creates, want 3 (namespace, bundle, agent)", len(lists))
	}
	return lists, rec, errb.String()
}

// TestKubeInvariantsCatch: each rule fails on a manifest broken for it.
func TestKubeInvariantsCatch(t *testing.T) {
	good, _, _ := kubeLaunchLists(t)
	var c collect
	if checkKube(&c, "good", good, false); len(c) > 0 {
		t.Fatalf("the launch's own manifests are refused: %v", c)
	}
	// edit decodes the Lists, changes them, encodes them again.
	edit := func(f func(lists [][]map[string]any)) [][]byte {
		var lists [][]map[string]any
		for _, raw := range good {
			var l struct {
				Items []map[string]any `json:"items"`
			}
			must(t, json.Unmarshal(raw, &l))
			lists = append(lists, l.Items)
		}
		f(lists)
		var out [][]byte
		for _, items := range lists {
			b, err := json.Marshal(map[string]any{"kind": "List", "items": items})
			must(t, err)
			out = append(out, b)
		}
		return out
	}
	find := func(lists [][]map[string]any, kind, name string) (int, int) {
		for i, items := range lists {
			for j, o := range items {
				if o["kind"] == kind && o["metadata"].(map[string]any)["name"] == name {
					return i, j
				}
			}
		}
		t.Fatalf("no %s %s in the launch's manifests", kind, name)
		return 0, 0
	}
	get := func(lists [][]map[string]any, kind, name string) map[string]any {
		i, j := find(lists, kind, name)
		return lists[i][j]
	}
	spec := func(o map[string]any) map[string]any { return o["spec"].(map[string]any) }
	container := func(o map[string]any) map[string]any { return spec(o)["containers"].([]any)[0].(map[string]any) }
	broken := map[string][][]byte{
		"the agent's policy missing": edit(func(l [][]map[string]any) {
			i, j := find(l, "NetworkPolicy", "agent")
			l[i] = slices.Delete(l[i], j, j+1)
		}),
		"the agent created before its policy, in one create": edit(func(l [][]map[string]any) {
			i, j := find(l, "NetworkPolicy", "agent")
			p := l[i][j]
			l[i] = slices.Delete(l[i], j, j+1)
			ai, _ := find(l, "Pod", "agent")
			l[ai] = append(l[ai], p)
		}),
		"a policy selecting other pods": edit(func(l [][]map[string]any) {
			spec(get(l, "NetworkPolicy", "agent"))["podSelector"] = map[string]any{"matchLabels": map[string]any{"claude-bottle.role": "else"}}
		}),
		"a policy isolating egress only": edit(func(l [][]map[string]any) {
			spec(get(l, "NetworkPolicy", "agent"))["policyTypes"] = []any{"Egress"}
		}),
		"the token mounted": edit(func(l [][]map[string]any) {
			spec(get(l, "Pod", "agent"))["automountServiceAccountToken"] = true
		}),
		"automount left to the default": edit(func(l [][]map[string]any) {
			delete(spec(get(l, "Pod", "agent")), "automountServiceAccountToken")
		}),
		"a projected token": edit(func(l [][]map[string]any) {
			spec(get(l, "Pod", "agent"))["volumes"] = []any{map[string]any{"name": "t",
				"projected": map[string]any{"sources": []any{map[string]any{"serviceAccountToken": map[string]any{"path": "token"}}}}}}
		}),
		"a Secret mounted into the agent": edit(func(l [][]map[string]any) {
			spec(get(l, "Pod", "agent"))["volumes"] = []any{map[string]any{"name": "s", "secret": map[string]any{"secretName": "bundle-files"}}}
		}),
		"a Secret as the agent's environment": edit(func(l [][]map[string]any) {
			container(get(l, "Pod", "agent"))["envFrom"] = []any{map[string]any{"secretRef": map[string]any{"name": "bundle-env"}}}
		}),
		"8080 on the Service": edit(func(l [][]map[string]any) {
			s := spec(get(l, "Service", "bundle"))
			s["ports"] = append(s["ports"].([]any), map[string]any{"name": "egress", "port": 8080, "targetPort": 8080})
		}),
		"8080 in the bundle's policy": edit(func(l [][]map[string]any) {
			r := spec(get(l, "NetworkPolicy", "bundle"))["ingress"].([]any)[0].(map[string]any)
			r["ports"] = append(r["ports"].([]any), map[string]any{"protocol": "TCP", "port": 8080})
		}),
		"8080 as a container port": edit(func(l [][]map[string]any) {
			c := container(get(l, "Pod", "bundle"))
			c["ports"] = append(c["ports"].([]any), map[string]any{"name": "egress", "containerPort": 8080})
		}),
		"the credential by value": edit(func(l [][]map[string]any) {
			c := container(get(l, "Pod", "agent"))
			c["env"] = append(c["env"].([]any), map[string]any{"name": "ANTHROPIC_API_KEY", "value": "x"})
		}),
	}
	for name, lists := range broken {
		var c collect
		if checkKube(&c, name, lists, false); len(c) == 0 {
			t.Errorf("not caught: %s", name)
		}
	}
	for name, log := range map[string]string{
		"the agent before its policy":   "  created namespace/n\n  created pod/agent\n  created networkpolicy.networking.k8s.io/agent\n",
		"a policy of another namespace": "  created namespace/a\n  created networkpolicy.networking.k8s.io/agent\n  created namespace/b\n  created pod/agent\n",
		"the credential by value":       "  created pod/bundle\n    env CLAUDE_CODE_OAUTH_TOKEN=x\n",
		"8080 on the Service":           "  created service/bundle\n    clusterIP 10.96.0.10 ports 8888 8080\n",
	} {
		var c collect
		if checkKubeLog(&c, name, log); len(c) == 0 {
			t.Errorf("not caught in a stand-in's log: %s", name)
		}
	}
	// A note that shows a Secret's value.
	shown := edit(func(l [][]map[string]any) {
		get(l, "Secret", "bundle-env")["data"] = map[string]any{"ANTHROPIC_API_KEY": "c2stYW50"}
	})
	if checkKube(&c, "shown", shown, true); len(c) == 0 {
		t.Errorf("not caught: a note showing a Secret's value")
	}
}
