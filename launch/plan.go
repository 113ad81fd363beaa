package launch

import (
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"

	"github.com/claude-bottle/claude-bottle/bundle"
	"github.com/claude-bottle/claude-bottle/kube"
	"github.com/claude-bottle/claude-bottle/provision"
)

// Backends.
const (
	Docker       = "docker"
	Smolmachines = "smolmachines"
	Kubernetes   = "kubernetes"
)

// smolvm network modes (--smolvm-net).
const (
	NetAuto   = "auto"
	NetTSI    = "tsi"
	NetVirtio = "virtio-net"
)

// Secrets passed to the guest by name when they are set on the host and
// egress is off (egress.go).
var DefaultSecrets = []string{bundle.APIKeyEnv, bundle.OAuthTokenEnv}

// Options are the launch command's inputs, as typed.
type Options struct {
	Backend        string
	Name           string
	Cwd            string
	HeadOnly       bool // --head-only: the workspace is HEAD alone, without the uncommitted changes
	Prompt         string
	Skills         []string
	Upstreams      []string // NAME=URL
	GitCredentials []string // NAME=PATH
	KnownHosts     string
	AllowHosts     []string
	AllowPrivate   []string // --allow-private: allowlisted and trusted past pipelock's SSRF guard
	Supervise      bool
	Egress         string // --egress: EgressOn (the default) or EgressOff
	AgentImage     string
	BundleImage    string
	Env            []string // KEY[=VALUE]
	SmolvmNet      string
	// Cluster is --kube-context and --namespace-prefix (kubernetes).
	Cluster kube.Cluster
	// PullPolicy is --image-pull-policy (kubernetes).
	PullPolicy string

	// UpstreamPolicies loosen the gate's ref policy: NAME=force[,delete].
	UpstreamPolicies []string
	// ClaudeConfig is --claude-config: "" (the user's own setup), "none",
	// or a configuration directory (claudecfg).
	ClaudeConfig string
	// AgentLimits and BundleLimits are the resource limit flags.
	AgentLimits  LimitOptions
	BundleLimits LimitOptions
	Detach       bool
	AgentArgs    []string
	DryRun       bool
}

// EnvVar is one variable of the guest's environment. ByName variables carry
// no value: the runtime takes it from claude-bottle's environment.
type EnvVar struct {
	Name   string
	Value  string
	ByName bool
	// Token: a ByName variable that holds the bottle token (Egress), not
	// claude-bottle's own value of Name; the runtime takes it from that
	// command's environment alone.
	Token bool
}

// Plan is everything a launch will do, decided before any command runs.
// The Agent* fields are empty until launch has discovered the bundle's ports.
type Plan struct {
	Bottle  string
	Backend string
	// Net is the smolvm network mode; NetAuto is resolved by launch.
	Net         string
	AgentImage  string
	BundleImage string
	// Cluster and PullPolicy: kubernetes only.
	Cluster    kube.Cluster
	PullPolicy string

	Bundle BundleSpec
	// Egress is the credential boundary; nil when it does not run.
	Egress *Egress
	// credentialInGuest names the credential --egress off passes into the
	// guest (the launch warns).
	credentialInGuest string

	Upstreams []Upstream
	// RepoDir is --cwd made absolute: where the agent's work comes home.
	RepoDir string
	// AgentLimits and BundleLimits bound what the guest and the bundle may use.
	AgentLimits, BundleLimits Limits
	// Guest holds what provisioning places in the guest, from the host.
	Guest provision.Inputs
	// Env is the guest env known up front (user --env, secrets by name).
	Env       []EnvVar
	AgentArgs []string
	Detach    bool
	DryRun    bool
	// Secret is the bottle's capability for the gate and supervise
	// (bundle/secret.go, setSecret); never printed.
	Secret string

	// Set by launch once the bundle runs.
	AgentProxyURL     string
	AgentGitGateHost  string
	AgentSuperviseURL string
}

// BundleSpec is how the bundle container is started.
type BundleSpec struct {
	Container string
	// PortsToPublish are the agent-facing container ports (smolmachines
	// publishes them on host loopback; docker publishes nothing).
	PortsToPublish []int
	Spec           bundle.Spec
	// Files are placed in the bundle before its daemons start.
	Files []provision.File
}

// Prepare validates every input and builds the Plan. It runs no command;
// it only reads the files the options name. getenv reads claude-bottle's
// environment; suffix makes a default name unique (fixed in a dry-run).
func Prepare(o Options, getenv func(string) (string, bool), suffix string) (*Plan, error) {
	p := &Plan{Backend: o.Backend, AgentImage: o.AgentImage, BundleImage: o.BundleImage,
		AgentArgs: o.AgentArgs, Detach: o.Detach, DryRun: o.DryRun}
	if err := p.setBackend(o); err != nil {
		return nil, err
	}
	if err := p.setName(o, suffix); err != nil {
		return nil, err
	}
	if err := p.setUpstreams(o); err != nil {
		return nil, err
	}
	if err := p.setEgress(o, getenv); err != nil {
		return nil, err
	}
	if err := p.setEnv(o, getenv); err != nil {
		return nil, err
	}
	if err := p.setGuest(o, getenv); err != nil {
		return nil, err
	}
	if o.Cwd != "" {
		p.RepoDir = o.Cwd // a dry-run prints it as given: the same for the same inputs
		if !o.DryRun {
			abs, err := filepath.Abs(o.Cwd)
			if err != nil {
				return nil, badInput("invalid --cwd: %v", err)
			}
			p.RepoDir = abs // recorded on the agent for fetch, from anywhere
		}
	}
	if err := p.setBundle(o); err != nil {
		return nil, err
	}
	return p, nil
}

// CheckBackend rejects a backend that is not docker, smolmachines or kubernetes.
func CheckBackend(b string) error {
	if b != Docker && b != Smolmachines && b != Kubernetes {
		return badInput("unknown backend %q: want docker, smolmachines or kubernetes", b)
	}
	return nil
}

func (p *Plan) setBackend(o Options) error {
	if err := CheckBackend(o.Backend); err != nil {
		return err
	}
	switch o.SmolvmNet {
	case NetAuto, NetTSI, NetVirtio:
		p.Net = o.SmolvmNet
	default:
		return badInput("unknown --smolvm-net %q: want auto, tsi or virtio-net", o.SmolvmNet)
	}
	if o.AgentImage == "" || o.BundleImage == "" {
		return badInput("--agent-image and --bundle-image must not be empty")
	}
	if o.Backend == Kubernetes {
		p.Cluster, p.PullPolicy = o.Cluster, o.PullPolicy
		if p.PullPolicy == "" {
			p.PullPolicy = DefaultPullPolicy
		}
		if !slices.Contains(PullPolicies, p.PullPolicy) {
			return badInput("unknown --image-pull-policy %q: want %s", o.PullPolicy, strings.Join(PullPolicies, ", "))
		}
	}
	var err error
	if p.AgentLimits, err = parseLimits("", o.AgentLimits); err != nil {
		return err
	}
	p.BundleLimits, err = parseLimits("bundle-", o.BundleLimits)
	return err
}

func (p *Plan) setName(o Options, suffix string) error {
	if o.Name != "" {
		p.Bottle = o.Name
		return p.checkName()
	}
	base := "bottle"
	if o.Cwd != "" {
		if abs, err := filepath.Abs(o.Cwd); err == nil {
			if s := sanitizeName(filepath.Base(abs)); s != "" {
				base = s
			}
		}
	}
	if len(base) > MaxNameLen-len(suffix)-1 {
		base = strings.TrimRight(base[:MaxNameLen-len(suffix)-1], "-_")
	}
	p.Bottle = base + "-" + suffix
	return p.checkName()
}

// checkName: every backend's rule, and on kubernetes the namespace's.
func (p *Plan) checkName() error {
	if err := ValidateName(p.Bottle); err != nil {
		return err
	}
	if p.Backend == Kubernetes {
		if err := p.Cluster.Check(p.Bottle); err != nil {
			return badInput("invalid bottle name for --backend kubernetes: %v", err)
		}
	}
	return nil
}

// sanitizeName turns a directory name into a bottle name prefix.
func sanitizeName(s string) string {
	var b strings.Builder
	dash := false
	for _, r := range strings.ToLower(s) {
		ok := r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '_'
		switch {
		case ok:
			b.WriteRune(r)
			dash = false
		case !dash && b.Len() > 0:
			b.WriteByte('-')
			dash = true
		}
	}
	return strings.TrimRight(b.String(), "-_")
}

func (p *Plan) setUpstreams(o Options) error {
	seen := map[string]bool{}
	for _, s := range o.Upstreams {
		u, err := ParseUpstream(s)
		if err != nil {
			return err
		}
		if seen[u.Name] {
			return badInput("invalid --upstream %q: name %q given twice", s, u.Name)
		}
		seen[u.Name] = true
		p.Upstreams = append(p.Upstreams, u)
	}
	for _, h := range o.AllowHosts {
		if err := checkHost(h); err != nil {
			return err
		}
	}
	return nil
}

func (p *Plan) setEnv(o Options, getenv func(string) (string, bool)) error {
	seen := map[string]bool{}
	for _, s := range o.Env {
		v, err := ParseEnv(s)
		if err != nil {
			return err
		}
		if reservedEnv[v.Name] {
			return badInput("invalid --env %q: %s is set by claude-bottle", s, v.Name)
		}
		if p.Egress != nil && egressReserved[v.Name] {
			return badInput("invalid --env %q: with egress on, %s is egress's (the guest gets a bottle token and egress's URL); --egress off passes yours in", s, v.Name)
		}
		if seen[v.Name] {
			return badInput("invalid --env %q: %s given twice", s, v.Name)
		}
		if _, set := getenv(v.Name); v.ByName && !set {
			return badInput("invalid --env %q: %s is not set in claude-bottle's environment", s, v.Name)
		}
		seen[v.Name] = true
		p.Env = append(p.Env, v)
	}
	if p.Egress != nil {
		p.Env = append(p.Env, p.Egress.guestEnv(p.Env)...)
		return nil
	}
	for _, name := range DefaultSecrets {
		if _, set := getenv(name); set && !seen[name] {
			p.Env = append(p.Env, EnvVar{Name: name, ByName: true})
		}
	}
	return nil
}

// reservedEnv are the guest variables launch sets itself.
var reservedEnv = map[string]bool{
	"HTTPS_PROXY": true, "HTTP_PROXY": true, "NO_PROXY": true,
	"https_proxy": true, "http_proxy": true, "no_proxy": true,
	"NODE_EXTRA_CA_CERTS": true,
}

func (p *Plan) setGuest(o Options, getenv func(string) (string, bool)) error {
	in := provision.Inputs{Supervise: o.Supervise}
	if o.Cwd != "" {
		repo, err := gitDir(o.Cwd, o.HeadOnly)
		if err != nil {
			return err
		}
		in.Repo = repo
	} else if o.HeadOnly {
		return badInput("--head-only needs --cwd")
	}
	if o.Prompt != "" {
		if err := checkPrompt(o.Prompt); err != nil {
			return err
		}
		in.Prompt = o.Prompt
	}
	skills, err := resolveSkills(o.Skills)
	if err != nil {
		return err
	}
	in.Skills = skills
	if in.Claude, err = p.claudeSetup(o, skills, getenv); err != nil {
		return err
	}
	if p.Egress != nil {
		in.Claude = onboarded(in.Claude)
	}
	p.Guest = in
	return nil
}

// gitDir reads DIR/.git, which must be a directory, for the guest's
// workspace (only what a checkout needs travels: provision.Repo), and,
// unless headOnly, names the working tree whose changes travel too (the
// launch lists them: provision.Worktree).
func gitDir(dir string, headOnly bool) (*provision.Repo, error) {
	fi, err := os.Stat(dir)
	if err != nil {
		return nil, badInput("invalid --cwd: %v", err)
	}
	if !fi.IsDir() {
		return nil, badInput("invalid --cwd %s: not a directory", dir)
	}
	git := filepath.Join(dir, ".git")
	fi, err = os.Stat(git)
	if err != nil || !fi.IsDir() {
		return nil, badInput("invalid --cwd %s: not the top of a git repository (no .git directory)", dir)
	}
	repo, err := provision.ReadRepo(git)
	if err != nil {
		return nil, badInput("invalid --cwd %s: %v", dir, err)
	}
	if !headOnly {
		repo.Worktree = &provision.Worktree{Dir: dir}
	}
	return repo, nil
}

func (p *Plan) setBundle(o Options) error {
	b := BundleSpec{Container: bundle.ContainerName(p.Bottle)}
	private, trust, err := allowPrivate(o.AllowPrivate)
	if err != nil {
		return err
	}
	b.Spec = bundle.Spec{Bottle: p.Bottle, Daemons: []string{bundle.Pipelock},
		AllowHosts: p.allowHosts(append(append([]string(nil), o.AllowHosts...), private...)),
		Listen:     bundle.ListenBottleNetwork, Trust: trust}
	if p.Backend == Smolmachines || p.Backend == Kubernetes {
		b.Spec.Listen = bundle.ListenAll // the published ports (the Service) reach the bundle's one network
	}
	if p.Egress != nil {
		p.Egress.configure(&b.Spec) // its port is never published
	}
	b.PortsToPublish = []int{bundle.PipelockPort}
	if len(p.Upstreams) > 0 {
		b.Spec.Daemons = append(b.Spec.Daemons, bundle.GitGate)
		b.PortsToPublish = append(b.PortsToPublish, bundle.GitGatePort)
	}
	if o.Supervise {
		b.Spec.Daemons = append(b.Spec.Daemons, bundle.Supervise)
		b.PortsToPublish = append(b.PortsToPublish, bundle.SupervisePort)
	}
	files, err := p.bundleCredentials(o, &b.Spec)
	if err != nil {
		return err
	}
	secret, err := p.setSecret(b.Spec)
	if err != nil {
		return err
	}
	files = append(files, secret...)
	b.Files = append([]provision.File{
		{Path: bundle.SpecPath, Mode: 0o644, Content: b.Spec.Marshal(), Show: true},
	}, files...)
	p.Bundle = b
	return nil
}

// bundleCredentials validates --git-credential and --known-hosts and returns
// the files that carry them into the bundle (root 0600; never the agent).
func (p *Plan) bundleCredentials(o Options, spec *bundle.Spec) ([]provision.File, error) {
	creds := map[string]string{}
	for _, s := range o.GitCredentials {
		name, path, err := parsePair("--git-credential", s)
		if err != nil {
			return nil, err
		}
		if _, dup := creds[name]; dup {
			return nil, badInput("invalid --git-credential %q: %s given twice", s, name)
		}
		if err := checkCredential(s, path); err != nil {
			return nil, err
		}
		creds[name] = path
	}
	policies, err := upstreamPolicies(o.UpstreamPolicies, p.Upstreams)
	if err != nil {
		return nil, err
	}
	var files []provision.File
	for _, u := range p.Upstreams {
		bu := bundle.Upstream{Name: u.Name, URL: u.URL, AllowForce: policies[u.Name].Force, AllowDelete: policies[u.Name].Delete}
		if path, ok := creds[u.Name]; ok {
			bu.Credential = bundle.CredentialDir + "/" + u.Name
			files = append(files, provision.File{Path: bu.Credential, Mode: 0o600, Source: path, Max: provision.MaxCredentialSize})
			delete(creds, u.Name)
		}
		spec.Upstreams = append(spec.Upstreams, bu)
	}
	if len(creds) > 0 {
		var names []string
		for n := range creds {
			names = append(names, n)
		}
		sort.Strings(names)
		return nil, badInput("invalid --git-credential: no --upstream named %s", strings.Join(names, ", "))
	}
	if o.KnownHosts != "" {
		if err := checkKnownHosts(o.KnownHosts); err != nil {
			return nil, err
		}
		spec.KnownHosts = bundle.KnownHostsPath
		files = append(files, provision.File{Path: bundle.KnownHostsPath, Mode: 0o644, Source: o.KnownHosts, Max: provision.MaxKnownHostsSize})
	} else if len(files) > 0 {
		return nil, badInput("--git-credential needs --known-hosts: upstream host keys are pinned, never trusted on first use")
	}
	return files, nil
}
