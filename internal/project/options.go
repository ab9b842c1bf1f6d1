package project

// Options are what the command line says about loading and running.
type Options struct {
	File  string            // the task file (-f); "": found from the working folder
	Goals []string          // targets named on the command line
	Vars  map[string]string // NAME=value on the command line
	Env   string            // --env; "": DTASK_ENV
	// ListOnly resolves only descriptions and the default (-l, --graph).
	ListOnly bool
	// NoGoals resolves no target (--clean, completion).
	NoGoals bool

	Verbose, NoCache, Force, DryRun bool
	Jobs                            int
	JUnit                           string // the report's path, never part of a build context
}

// UsageError is a bad invocation (a missing task file, an unknown target
// or environment): dtask exits 2.
type UsageError struct{ Msg string }

func (e *UsageError) Error() string { return e.Msg }
func (e *UsageError) ExitCode() int { return 2 }
