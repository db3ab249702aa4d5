package main

import (
	"os"

	"urun/config"
)

type featuresCmd struct{}

func (featuresCmd) Run(g *Globals) error {
	out, err := config.FeaturesJSON(nil)
	if err == nil {
		_, err = os.Stdout.Write(out)
	}
	return wrap("features", "", err)
}
