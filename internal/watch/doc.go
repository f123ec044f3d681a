// Package watch is baton's one home for file watching: every watcher of
// the framework (the configuration file, certificate files, static files
// and sources in development mode, the binary) is built on it, and every
// one skips the same editor temporary files ([Ignored]).
//
// The files of the package:
//
//	ignore.go   Ignored and IgnoredDir: the one list of files and directories no watcher acts on
//	watch.go    Watcher: changed paths in a set of directories (or trees), from fsnotify events or by polling
//	files.go    Files: a set of files whose content changed, after a quiet period, compared by hash
//
// # Notes
//
// Directories are watched, not files, so that an editor's rename-save and
// a Kubernetes ConfigMap's symlink swap are seen. File events do not
// arrive on some file systems (network mounts, some container volumes):
// there a Watcher polls (Options.Poll).
package watch
