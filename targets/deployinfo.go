package targets

// gitSHA is the revision a deployed container is labelled with.
func (e *Env) gitSHA() string {
	rev, _ := e.BuildInfo()
	return rev
}
