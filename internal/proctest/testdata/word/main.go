package main

// word is set by the build, with -X.
var word = "none"

func main() { println(word) }
