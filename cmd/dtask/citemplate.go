package main

import (
	"fmt"
	"io"

	"github.com/dtask-dev/dtask/internal/citemplate"
)

// printCITemplate prints a CI config for provider that installs dtask,
// restores and saves the cache folder and runs `dtask ci`. It needs no
// task file, but uses the one it finds for paths and the cache key.
func printCITemplate(c *cli, stdout, stderr io.Writer) error {
	o, notes := citemplate.Find(c.File)
	for _, n := range notes {
		fmt.Fprintln(stderr, "dtask: note: "+n)
	}
	o.Pin = citemplate.PinnedVersion()
	if o.Pin == "" {
		o.Pin = "main"
		notes = append(notes, "this dtask has no version or commit recorded (built with -buildvcs=false): the config installs the main branch; set DTASK_VERSION in it to a release or commit")
	}
	s, err := citemplate.Render(c.CITemplate, o)
	if err != nil {
		return err
	}
	_, err = io.WriteString(stdout, s)
	return err
}
