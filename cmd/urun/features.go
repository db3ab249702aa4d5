package main

import (
	"os"
	"strings"

	"urun/config"
)

type featuresCmd struct{}

// annotationVerbs lists the runc verbs urun refuses (refused.go).
const annotationVerbs = "io.github.urun.verbs.refused"

func (featuresCmd) Run(g *Globals) error {
	names := make([]string, len(refusedVerbs))
	for i, v := range refusedVerbs {
		names[i] = v.name
	}
	out, err := config.FeaturesJSON(map[string]string{
		annotationVerbs: strings.Join(names, ", ") + ": urun manages no cgroups and uses no CRIU; each refuses with its reason and changes nothing",
	})
	if err == nil {
		_, err = os.Stdout.Write(out)
	}
	return wrap("features", "", err)
}
