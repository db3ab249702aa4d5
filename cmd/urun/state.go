package main

import (
	"encoding/json"
	"os"

	"urun/ulog"
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
	ulog.Trace("state read")
	oci := ct.State.OCI()
	ulog.Trace("status read")
	out, _ := json.MarshalIndent(oci, "", "  ")
	out = append(out, '\n')
	_, err = os.Stdout.Write(out)
	return wrap("state", c.ID, err)
}
