package main

import (
	"os"
)

// createCmd is runc's create: set the container up and park its process
// until start.
type createCmd struct {
	containerFlags `embed:""`
	ID             string `arg:"" help:"Container ID."`
}

func (c *createCmd) Run(g *Globals) error {
	o := c.opts(c.ID)
	o.park, o.hang = true, os.Getenv("URUN_HANG")
	_, err := createContainer(g, o)
	return wrap("create", c.ID, err)
}
