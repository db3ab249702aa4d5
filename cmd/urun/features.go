package main

import (
	"encoding/json"
	"os"

	"urun/config"
)

type featuresCmd struct{}

func (featuresCmd) Run(g *Globals) error {
	out, _ := json.MarshalIndent(config.Features(), "", "  ")
	_, err := os.Stdout.Write(append(out, '\n'))
	return wrap("features", "", err)
}
