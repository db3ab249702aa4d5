package main

import (
	"encoding/json"
	"os"

	"urun/scaffold"
)

type stateCmd struct {
	ID string `arg:"" help:"Container ID."`
}

func (c *stateCmd) Run(g *Globals) error {
	store, err := scaffold.OpenStore(g.Root)
	if err != nil {
		return wrap("state", c.ID, err)
	}
	ct, err := store.Open(c.ID, false)
	if err != nil {
		return wrap("state", c.ID, err)
	}
	defer ct.Close()
	out, _ := json.MarshalIndent(ct.State.OCI(), "", "  ")
	out = append(out, '\n')
	_, err = os.Stdout.Write(out)
	return wrap("state", c.ID, err)
}
