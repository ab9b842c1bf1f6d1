package main

import (
	"encoding/json"
	"io"

	"github.com/dtask-dev/dtask/engine/taskfile"
)

// printSchema prints the task file's JSON schema, as docs/taskfile.schema.json holds it.
func printSchema(stdout io.Writer) error {
	b, err := json.MarshalIndent(taskfile.Schema(), "", "  ")
	if err != nil {
		return err
	}
	_, err = stdout.Write(append(b, '\n'))
	return err
}
