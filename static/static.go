// Package static holds the clinician UI: HTML templates, CSS and JavaScript,
// embedded in the binary. It holds no logic.
package static

import (
	"embed"
	"io/fs"
)

//go:embed *.html *.css *.js
var files embed.FS

// FS returns the UI files.
func FS() fs.FS { return files }
