// Package web holds the map and jobs pages of changewatch serve: npm sources in src/,
// bundled by esbuild (npm run build, run by scripts/setup.sh) into dist/, which is
// embedded here. Nothing is loaded from a CDN: the pages work with no internet.
package web

import (
	"embed"
	"io/fs"
)

// dist is the built front end. dist/BUILD.md is committed so the package compiles before
// the first build; everything else in dist/ is generated.
//
//go:embed all:dist
var dist embed.FS

// Dist returns the built files (index.html, jobs.html, assets/...).
func Dist() fs.FS {
	sub, err := fs.Sub(dist, "dist")
	if err != nil {
		panic(err) // dist is a literal folder of the embed: cannot happen
	}
	return sub
}

// Built reports whether the front end has been built into dist/.
func Built() bool {
	_, err := fs.Stat(Dist(), "index.html")
	return err == nil
}
