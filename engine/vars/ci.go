package vars

import "strings"

// CIInfo is what the CI provider's environment says about the build.
type CIInfo struct {
	Provider string // github, gitlab, circleci, jenkins, buildkite, travis, azure, bitbucket, teamcity, drone, woodpecker; "other" for an unrecognised CI (CI=true); "local" outside CI
	IsCI     bool
	Branch   string // the branch being built (a pull request's source branch); empty for tag builds where the provider says so
	BuildNum string
	SHA      string
	Tag      string // the tag a tag build was triggered by
}

type provider struct {
	name   string
	detect func(env func(string) string) bool
	info   func(env func(string) string) CIInfo
}

// providers in detection order: those whose variables others imitate
// (Woodpecker sets CI_* like GitLab, old Drone set CI=drone) are told apart by
// their own marker variables.
var providers = []provider{
	{"github", isSet("GITHUB_ACTIONS"), githubInfo},
	{"gitlab", isSet("GITLAB_CI"), gitlabInfo},
	{"woodpecker", func(env func(string) string) bool { return env("CI") == "woodpecker" }, woodpeckerInfo},
	{"drone", isSet("DRONE"), droneInfo},
	{"circleci", isSet("CIRCLECI"), circleInfo},
	{"travis", isSet("TRAVIS"), travisInfo},
	{"buildkite", isSet("BUILDKITE"), buildkiteInfo},
	{"azure", isSet("TF_BUILD"), azureInfo},
	{"bitbucket", isSet("BITBUCKET_BUILD_NUMBER"), bitbucketInfo},
	{"teamcity", isSet("TEAMCITY_VERSION"), teamcityInfo},
	{"jenkins", func(env func(string) string) bool { return env("JENKINS_URL") != "" || env("JENKINS_HOME") != "" }, jenkinsInfo},
}

// DetectCI reports the CI provider from its environment variables. Outside
// any CI the provider is "local" and IsCI false; with CI set to anything but
// ""/"false"/"0" and no known provider, the provider is "other" and IsCI true.
func DetectCI(getenv func(string) string) CIInfo {
	for _, p := range providers {
		if p.detect(getenv) {
			info := p.info(getenv)
			info.Provider, info.IsCI = p.name, true
			if !isHex(info.SHA) {
				info.SHA = "" // e.g. Buildkite's BUILDKITE_COMMIT=HEAD
			}
			return info
		}
	}
	switch strings.ToLower(getenv("CI")) {
	case "", "false", "0", "no":
		return CIInfo{Provider: "local"}
	}
	return CIInfo{Provider: "other", IsCI: true}
}

func isSet(name string) func(func(string) string) bool {
	return func(env func(string) string) bool {
		v := strings.ToLower(env(name))
		return v != "" && v != "false" && v != "0"
	}
}

// first returns the first non-empty of the named variables.
func first(env func(string) string, names ...string) string {
	for _, n := range names {
		if v := env(n); v != "" {
			return v
		}
	}
	return ""
}

func githubInfo(env func(string) string) CIInfo {
	i := CIInfo{BuildNum: env("GITHUB_RUN_NUMBER"), SHA: env("GITHUB_SHA")}
	ref, refName := env("GITHUB_REF"), env("GITHUB_REF_NAME")
	switch {
	case env("GITHUB_HEAD_REF") != "": // pull request: GITHUB_REF is refs/pull/N/merge
		i.Branch = env("GITHUB_HEAD_REF")
	case env("GITHUB_REF_TYPE") == "tag" || strings.HasPrefix(ref, "refs/tags/"):
		i.Tag = first(env, "GITHUB_REF_NAME")
		if i.Tag == "" {
			i.Tag = strings.TrimPrefix(ref, "refs/tags/")
		}
	case refName != "" && !strings.HasPrefix(ref, "refs/pull/"):
		i.Branch = refName
	case strings.HasPrefix(ref, "refs/heads/"):
		i.Branch = strings.TrimPrefix(ref, "refs/heads/")
	}
	return i
}

func gitlabInfo(env func(string) string) CIInfo {
	i := CIInfo{BuildNum: env("CI_PIPELINE_IID"), SHA: env("CI_COMMIT_SHA"), Tag: env("CI_COMMIT_TAG")}
	i.Branch = first(env, "CI_MERGE_REQUEST_SOURCE_BRANCH_NAME", "CI_COMMIT_BRANCH")
	if i.Branch == "" && i.Tag == "" {
		i.Branch = env("CI_COMMIT_REF_NAME")
	}
	return i
}

func woodpeckerInfo(env func(string) string) CIInfo {
	return CIInfo{
		Branch:   first(env, "CI_COMMIT_SOURCE_BRANCH", "CI_COMMIT_BRANCH"),
		BuildNum: first(env, "CI_PIPELINE_NUMBER", "CI_BUILD_NUMBER"), // CI_BUILD_* before Woodpecker 1.0
		SHA:      env("CI_COMMIT_SHA"),
		Tag:      env("CI_COMMIT_TAG"),
	}
}

func droneInfo(env func(string) string) CIInfo {
	i := CIInfo{BuildNum: env("DRONE_BUILD_NUMBER"), SHA: first(env, "DRONE_COMMIT_SHA", "DRONE_COMMIT"), Tag: env("DRONE_TAG")}
	if i.Tag == "" {
		// DRONE_BRANCH is a pull request's target; DRONE_SOURCE_BRANCH its source.
		i.Branch = first(env, "DRONE_SOURCE_BRANCH", "DRONE_BRANCH")
	}
	return i
}

func circleInfo(env func(string) string) CIInfo {
	return CIInfo{Branch: env("CIRCLE_BRANCH"), BuildNum: env("CIRCLE_BUILD_NUM"), SHA: env("CIRCLE_SHA1"), Tag: env("CIRCLE_TAG")}
}

func travisInfo(env func(string) string) CIInfo {
	i := CIInfo{BuildNum: env("TRAVIS_BUILD_NUMBER"), SHA: env("TRAVIS_COMMIT"), Tag: env("TRAVIS_TAG")}
	i.Branch = first(env, "TRAVIS_PULL_REQUEST_BRANCH", "TRAVIS_BRANCH")
	if i.Tag != "" && i.Branch == i.Tag { // on tag builds TRAVIS_BRANCH is the tag
		i.Branch = ""
	}
	return i
}

func buildkiteInfo(env func(string) string) CIInfo {
	i := CIInfo{BuildNum: env("BUILDKITE_BUILD_NUMBER"), SHA: env("BUILDKITE_COMMIT"), Tag: env("BUILDKITE_TAG")}
	i.Branch = env("BUILDKITE_BRANCH")
	if i.Tag != "" && i.Branch == i.Tag {
		i.Branch = ""
	}
	return i
}

func azureInfo(env func(string) string) CIInfo {
	i := CIInfo{BuildNum: first(env, "BUILD_BUILDNUMBER", "BUILD_BUILDID"), SHA: env("BUILD_SOURCEVERSION")}
	ref := first(env, "SYSTEM_PULLREQUEST_SOURCEBRANCH", "BUILD_SOURCEBRANCH")
	switch {
	case strings.HasPrefix(ref, "refs/tags/"):
		i.Tag = strings.TrimPrefix(ref, "refs/tags/")
	case strings.HasPrefix(ref, "refs/pull/"):
		// a pull request without its source branch variable: no branch name
	default:
		i.Branch = strings.TrimPrefix(ref, "refs/heads/")
	}
	return i
}

func bitbucketInfo(env func(string) string) CIInfo {
	return CIInfo{Branch: env("BITBUCKET_BRANCH"), BuildNum: env("BITBUCKET_BUILD_NUMBER"), SHA: env("BITBUCKET_COMMIT"), Tag: env("BITBUCKET_TAG")}
}

// teamcityInfo: TeamCity passes no branch to the environment by default
// (teamcity.build.branch is a configuration parameter); BUILD_VCS_NUMBER is
// the revision when the configuration has a single VCS root.
func teamcityInfo(env func(string) string) CIInfo {
	return CIInfo{BuildNum: env("BUILD_NUMBER"), SHA: env("BUILD_VCS_NUMBER")}
}

func jenkinsInfo(env func(string) string) CIInfo {
	i := CIInfo{BuildNum: env("BUILD_NUMBER"), SHA: env("GIT_COMMIT"), Tag: env("TAG_NAME")}
	if i.Tag != "" {
		return i
	}
	// Multibranch: CHANGE_BRANCH is a pull request's source, BRANCH_NAME the
	// branch (or "PR-12"). The git plugin's GIT_BRANCH carries the remote: origin/main.
	if b := env("CHANGE_BRANCH"); b != "" {
		i.Branch = b
	} else if b := env("BRANCH_NAME"); b != "" {
		i.Branch = b
	} else {
		b := env("GIT_BRANCH")
		for _, p := range []string{"refs/remotes/origin/", "remotes/origin/", "origin/", "refs/heads/"} {
			if strings.HasPrefix(b, p) {
				b = strings.TrimPrefix(b, p)
				break
			}
		}
		i.Branch = b
	}
	return i
}

func isHex(s string) bool {
	if len(s) < 7 {
		return s == ""
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F') {
			return false
		}
	}
	return true
}

// prVars are, per provider, the variables set only on pull (merge) request
// builds, and their values that mean "not a pull request".
var prVars = []struct {
	provider string
	names    []string
}{
	{"github", []string{"GITHUB_HEAD_REF"}},
	{"gitlab", []string{"CI_MERGE_REQUEST_IID", "CI_EXTERNAL_PULL_REQUEST_IID"}},
	{"circleci", []string{"CIRCLE_PULL_REQUEST"}},
	{"travis", []string{"TRAVIS_PULL_REQUEST"}},
	{"buildkite", []string{"BUILDKITE_PULL_REQUEST"}},
	{"azure", []string{"SYSTEM_PULLREQUEST_PULLREQUESTID"}},
	{"bitbucket", []string{"BITBUCKET_PR_ID"}},
	{"jenkins", []string{"CHANGE_ID"}},
	{"drone", []string{"DRONE_PULL_REQUEST"}},
	{"woodpecker", []string{"CI_COMMIT_PULL_REQUEST"}},
	{"teamcity", []string{"TEAMCITY_PULL_REQUEST"}},
}

// pullRequestVars returns prVars' names for provider.
func pullRequestVars(provider string) []string {
	for _, p := range prVars {
		if p.provider == provider {
			return p.names
		}
	}
	return nil
}

// IsPullRequest reports whether the build is of a pull (merge) request,
// whose code must not write to shared caches.
func IsPullRequest(info CIInfo, getenv func(string) string) bool {
	if info.Provider == "github" && strings.HasPrefix(getenv("GITHUB_EVENT_NAME"), "pull_request") {
		return true
	}
	for _, name := range pullRequestVars(info.Provider) {
		switch v := getenv(name); v {
		case "", "false", "0":
		default:
			return true
		}
	}
	return false
}
