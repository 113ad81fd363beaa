package launch

// Label keys on every resource a launch creates.
const (
	LabelName    = "claude-bottle.name"
	LabelRole    = "claude-bottle.role"
	LabelBackend = "claude-bottle.backend"
)

// Roles.
const (
	RoleNetwork = "network"
	RoleBundle  = "bundle"
	RoleAgent   = "agent"
)

// labelArgs are the --label flags for a resource of the plan's bottle
// (docker and smolvm spell them the same way).
func (p *Plan) labelArgs(role string) []string {
	return []string{
		"--label", LabelName + "=" + p.Bottle,
		"--label", LabelRole + "=" + role,
		"--label", LabelBackend + "=" + p.Backend,
	}
}
