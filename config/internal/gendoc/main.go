// Command gendoc writes unsupported.md from urun's feature table.
//
//	go run ./config/internal/gendoc -o unsupported.md
package main

import (
	"flag"
	"fmt"
	"os"

	"urun/config"
)

func main() {
	out := flag.String("o", "unsupported.md", "file to write")
	flag.Parse()
	if err := os.WriteFile(*out, config.Markdown(), 0o644); err != nil {
		fmt.Fprintln(os.Stderr, "gendoc:", err)
		os.Exit(1)
	}
}
