package watch

import "strings"

// Ignored reports whether a file name is one no watcher acts on: an
// editor's temporary, swap, backup or lock file, or a desktop's metadata
// file. An editor writes these around a save of the real file, whose own
// event follows.
func Ignored(name string) bool {
	switch {
	case name == "4913", // vim's probe of a directory's writability
		name == ".DS_Store",
		strings.HasSuffix(name, "~"),                                                                      // backups: emacs, vim, gedit
		strings.HasPrefix(name, ".#"),                                                                     // emacs lock
		strings.HasPrefix(name, "#") && strings.HasSuffix(name, "#"),                                      // emacs auto-save
		strings.HasSuffix(name, ".swp"), strings.HasSuffix(name, ".swx"), strings.HasSuffix(name, ".swo"), // vim swap
		strings.HasSuffix(name, ".tmp"),
		strings.HasSuffix(name, "___jb_tmp___"), strings.HasSuffix(name, "___jb_old___"): // JetBrains safe write
		return true
	}
	return false
}

// IgnoredDir reports whether a directory below a module is never watched
// for its sources: dependencies, version control, build output.
func IgnoredDir(name string) bool {
	switch name {
	case "vendor", "node_modules", ".git", ".hg", ".svn", "bin", "dist":
		return true
	}
	return false
}
