package main

// runCmd is runc's run: create and start in the foreground, wait for the
// container and delete it (or, with --detach, leave it running).
type runCmd struct {
	containerFlags `embed:""`
	Detach         bool   `short:"d" help:"Do not wait for the container; leave it running."`
	Keep           bool   `help:"Keep the container's state after it exits."`
	ID             string `arg:"" help:"Container ID."`
}

func (c *runCmd) Run(g *Globals) error {
	r := &runner{containerFlags: c.containerFlags, ID: c.ID, Detach: c.Detach, Keep: c.Keep}
	return r.run(g)
}
