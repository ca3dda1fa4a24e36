package rules

import (
	"embed"
	"io/fs"
)

//go:embed *.yaml
var files embed.FS

// FS returns the shipped rule files, one YAML file per rule at the root of the returned file
// system, ready for detect.LoadFS(rules.FS(), ".").
func FS() fs.FS { return files }
