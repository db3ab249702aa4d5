package main

import (
	"encoding/json"
	"os"
)

type stateCmd struct {
	ID string `arg:"" help:"Container ID."`
}

func (c *stateCmd) Run(g *Globals) error {
	ct, err := openContainer(g, c.ID, false)
	if err != nil {
		return wrap("state", c.ID, err)
	}
	defer ct.Close()
	out, _ := json.MarshalIndent(ct.State.OCI(), "", "  ")
	out = append(out, '\n')
	_, err = os.Stdout.Write(out)
	return wrap("state", c.ID, err)
}
