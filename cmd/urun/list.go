package main

import (
	"encoding/json"
	"fmt"
	"os"
	"text/tabwriter"
	"time"

	"urun/store"
)

type listCmd struct {
	Format string `short:"f" enum:"table,json" default:"table" help:"table or json."`
	Quiet  bool   `short:"q" help:"Print only IDs."`
}

type listEntry struct {
	ID          string            `json:"id"`
	Pid         int               `json:"pid"`
	Status      string            `json:"status"`
	Bundle      string            `json:"bundle"`
	Rootfs      string            `json:"rootfs"`
	Created     time.Time         `json:"created"`
	Owner       string            `json:"owner"`
	Annotations map[string]string `json:"annotations,omitempty"`
}

func (c *listCmd) Run(g *Globals) error {
	root, err := store.OpenStore(g.Root)
	if err != nil {
		return wrap("list", "", err)
	}
	states, err := root.List()
	if err != nil {
		return wrap("list", "", err)
	}
	entries := make([]listEntry, 0, len(states))
	for _, s := range states {
		o := s.OCI()
		entries = append(entries, listEntry{ID: s.ID, Pid: o.Pid, Status: string(o.Status), Bundle: s.Bundle,
			Rootfs: s.Rootfs, Created: s.Created, Owner: fmt.Sprint(s.Owner), Annotations: s.Annotations})
	}
	switch {
	case c.Quiet:
		for _, e := range entries {
			fmt.Println(e.ID)
		}
	case c.Format == "json":
		out, _ := json.Marshal(entries)
		fmt.Println(string(out))
	default:
		w := tabwriter.NewWriter(os.Stdout, 12, 1, 3, ' ', 0)
		fmt.Fprintln(w, "ID\tPID\tSTATUS\tBUNDLE\tCREATED\tOWNER")
		for _, e := range entries {
			fmt.Fprintf(w, "%s\t%d\t%s\t%s\t%s\t%s\n", e.ID, e.Pid, e.Status, e.Bundle, e.Created.Format(time.RFC3339Nano), e.Owner)
		}
		w.Flush()
	}
	return nil
}
