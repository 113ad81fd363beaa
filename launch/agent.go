package launch

import (
	"context"

	"github.com/claude-bottle/claude-bottle/job"
	"github.com/claude-bottle/claude-bottle/provision"
)

// startAgent runs the agent of a detached launch in its session in the
// guest (job.StartArgv): one exec as the agent user in the workspace,
// which returns at once. attach, wait and logs --agent reach it later.
func (s *session) startAgent(ctx context.Context, g provision.Guest) error {
	argv := job.StartArgv(provision.AgentCommand(s.p.AgentArgs, s.p.Guest.Prompt != ""))
	err := s.step("start agent session", func() error { return g.Exec(ctx, provision.Agent, argv, nil) })
	if err == nil && !s.p.DryRun {
		s.Log.Infof("the agent runs in bottle %s: claude-bottle %sattach %s joins it (Ctrl-b d leaves it), wait %s waits for it, logs %s --agent prints its terminal",
			s.p.Bottle, GlobalFlags(s.p.where()), s.p.Bottle, s.p.Bottle, s.p.Bottle)
	}
	return err
}
