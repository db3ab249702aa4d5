package main

type deleteCmd struct {
	Force bool   `short:"f" help:"Kill a running container first; succeed if it does not exist."`
	ID    string `arg:"" help:"Container ID."`
}

func (c *deleteCmd) Run(g *Globals) error {
	return wrap("delete", c.ID, deleteContainer(g, c.ID, c.Force))
}
