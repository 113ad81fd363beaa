package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/google/shlex"
	"github.com/rogpeppe/go-internal/txtar"
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
