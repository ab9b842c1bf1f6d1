package vars

import "testing"

const sha1 = "0123456789abcdef0123456789abcdef01234567"

func envFunc(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

func TestDetectCI(t *testing.T) {
	tests := []struct {
		name string
		env  map[string]string
		want CIInfo
	}{
		{"local", map[string]string{"HOME": "/root"}, CIInfo{Provider: "local"}},
		{"CI=false is local", map[string]string{"CI": "false"}, CIInfo{Provider: "local"}},
		{"unknown CI", map[string]string{"CI": "true"}, CIInfo{Provider: "other", IsCI: true}},
		{"unknown CI=1", map[string]string{"CI": "1"}, CIInfo{Provider: "other", IsCI: true}},

		{"github push", map[string]string{"CI": "true", "GITHUB_ACTIONS": "true", "GITHUB_REF": "refs/heads/main", "GITHUB_REF_NAME": "main", "GITHUB_REF_TYPE": "branch", "GITHUB_RUN_NUMBER": "42", "GITHUB_SHA": sha1},
			CIInfo{Provider: "github", IsCI: true, Branch: "main", BuildNum: "42", SHA: sha1}},
		{"github pull request", map[string]string{"GITHUB_ACTIONS": "true", "GITHUB_REF": "refs/pull/7/merge", "GITHUB_REF_NAME": "7/merge", "GITHUB_HEAD_REF": "feature/x", "GITHUB_BASE_REF": "main", "GITHUB_RUN_NUMBER": "43", "GITHUB_SHA": sha1},
			CIInfo{Provider: "github", IsCI: true, Branch: "feature/x", BuildNum: "43", SHA: sha1}},
		{"github tag", map[string]string{"GITHUB_ACTIONS": "true", "GITHUB_REF": "refs/tags/v1.2.0", "GITHUB_REF_NAME": "v1.2.0", "GITHUB_REF_TYPE": "tag", "GITHUB_RUN_NUMBER": "44"},
			CIInfo{Provider: "github", IsCI: true, Tag: "v1.2.0", BuildNum: "44"}},
		{"github ref only", map[string]string{"GITHUB_ACTIONS": "true", "GITHUB_REF": "refs/heads/release/2"},
			CIInfo{Provider: "github", IsCI: true, Branch: "release/2"}},

		{"gitlab branch", map[string]string{"CI": "true", "GITLAB_CI": "true", "CI_COMMIT_BRANCH": "main", "CI_COMMIT_REF_NAME": "main", "CI_PIPELINE_IID": "12", "CI_PIPELINE_ID": "999999", "CI_COMMIT_SHA": sha1},
			CIInfo{Provider: "gitlab", IsCI: true, Branch: "main", BuildNum: "12", SHA: sha1}},
		{"gitlab merge request", map[string]string{"GITLAB_CI": "true", "CI_MERGE_REQUEST_SOURCE_BRANCH_NAME": "fix-1", "CI_COMMIT_REF_NAME": "fix-1", "CI_PIPELINE_IID": "13", "CI_COMMIT_SHA": sha1},
			CIInfo{Provider: "gitlab", IsCI: true, Branch: "fix-1", BuildNum: "13", SHA: sha1}},
		{"gitlab tag", map[string]string{"GITLAB_CI": "true", "CI_COMMIT_TAG": "v2", "CI_COMMIT_REF_NAME": "v2", "CI_PIPELINE_IID": "14"},
			CIInfo{Provider: "gitlab", IsCI: true, Tag: "v2", BuildNum: "14"}},

		{"circleci", map[string]string{"CI": "true", "CIRCLECI": "true", "CIRCLE_BRANCH": "dev", "CIRCLE_BUILD_NUM": "301", "CIRCLE_SHA1": sha1},
			CIInfo{Provider: "circleci", IsCI: true, Branch: "dev", BuildNum: "301", SHA: sha1}},
		{"circleci tag", map[string]string{"CIRCLECI": "true", "CIRCLE_TAG": "v3", "CIRCLE_BUILD_NUM": "302", "CIRCLE_SHA1": sha1},
			CIInfo{Provider: "circleci", IsCI: true, Tag: "v3", BuildNum: "302", SHA: sha1}},

		{"jenkins git plugin origin/x", map[string]string{"JENKINS_URL": "http://j/", "GIT_BRANCH": "origin/feature/y", "BUILD_NUMBER": "77", "GIT_COMMIT": sha1},
			CIInfo{Provider: "jenkins", IsCI: true, Branch: "feature/y", BuildNum: "77", SHA: sha1}},
		{"jenkins refs/remotes/origin/x", map[string]string{"JENKINS_URL": "http://j/", "GIT_BRANCH": "refs/remotes/origin/main", "BUILD_NUMBER": "78"},
			CIInfo{Provider: "jenkins", IsCI: true, Branch: "main", BuildNum: "78"}},
		{"jenkins multibranch", map[string]string{"JENKINS_URL": "http://j/", "BRANCH_NAME": "main", "GIT_BRANCH": "main", "BUILD_NUMBER": "79", "GIT_COMMIT": sha1},
			CIInfo{Provider: "jenkins", IsCI: true, Branch: "main", BuildNum: "79", SHA: sha1}},
		{"jenkins multibranch PR", map[string]string{"JENKINS_HOME": "/var/jenkins", "BRANCH_NAME": "PR-5", "CHANGE_BRANCH": "feat", "BUILD_NUMBER": "80"},
			CIInfo{Provider: "jenkins", IsCI: true, Branch: "feat", BuildNum: "80"}},
		{"jenkins tag", map[string]string{"JENKINS_URL": "http://j/", "BRANCH_NAME": "v9", "TAG_NAME": "v9", "BUILD_NUMBER": "81"},
			CIInfo{Provider: "jenkins", IsCI: true, Tag: "v9", BuildNum: "81"}},

		{"buildkite", map[string]string{"CI": "true", "BUILDKITE": "true", "BUILDKITE_BRANCH": "main", "BUILDKITE_BUILD_NUMBER": "5", "BUILDKITE_COMMIT": sha1},
			CIInfo{Provider: "buildkite", IsCI: true, Branch: "main", BuildNum: "5", SHA: sha1}},
		{"buildkite commit HEAD", map[string]string{"BUILDKITE": "true", "BUILDKITE_BRANCH": "main", "BUILDKITE_BUILD_NUMBER": "6", "BUILDKITE_COMMIT": "HEAD"},
			CIInfo{Provider: "buildkite", IsCI: true, Branch: "main", BuildNum: "6"}},

		{"travis push", map[string]string{"CI": "true", "TRAVIS": "true", "TRAVIS_BRANCH": "main", "TRAVIS_BUILD_NUMBER": "9", "TRAVIS_COMMIT": sha1},
			CIInfo{Provider: "travis", IsCI: true, Branch: "main", BuildNum: "9", SHA: sha1}},
		{"travis PR", map[string]string{"TRAVIS": "true", "TRAVIS_BRANCH": "main", "TRAVIS_PULL_REQUEST_BRANCH": "topic", "TRAVIS_BUILD_NUMBER": "10"},
			CIInfo{Provider: "travis", IsCI: true, Branch: "topic", BuildNum: "10"}},
		{"travis tag", map[string]string{"TRAVIS": "true", "TRAVIS_BRANCH": "v1", "TRAVIS_TAG": "v1", "TRAVIS_BUILD_NUMBER": "11"},
			CIInfo{Provider: "travis", IsCI: true, Tag: "v1", BuildNum: "11"}},

		{"azure", map[string]string{"TF_BUILD": "True", "BUILD_SOURCEBRANCH": "refs/heads/feature/z", "BUILD_SOURCEBRANCHNAME": "z", "BUILD_BUILDNUMBER": "20240101.3", "BUILD_BUILDID": "555", "BUILD_SOURCEVERSION": sha1},
			CIInfo{Provider: "azure", IsCI: true, Branch: "feature/z", BuildNum: "20240101.3", SHA: sha1}},
		{"azure PR", map[string]string{"TF_BUILD": "True", "BUILD_SOURCEBRANCH": "refs/pull/3/merge", "SYSTEM_PULLREQUEST_SOURCEBRANCH": "refs/heads/topic", "BUILD_BUILDID": "556"},
			CIInfo{Provider: "azure", IsCI: true, Branch: "topic", BuildNum: "556"}},
		{"azure tag", map[string]string{"TF_BUILD": "True", "BUILD_SOURCEBRANCH": "refs/tags/v4", "BUILD_BUILDID": "557"},
			CIInfo{Provider: "azure", IsCI: true, Tag: "v4", BuildNum: "557"}},

		{"bitbucket", map[string]string{"CI": "true", "BITBUCKET_BUILD_NUMBER": "21", "BITBUCKET_BRANCH": "main", "BITBUCKET_COMMIT": sha1},
			CIInfo{Provider: "bitbucket", IsCI: true, Branch: "main", BuildNum: "21", SHA: sha1}},
		{"bitbucket tag", map[string]string{"BITBUCKET_BUILD_NUMBER": "22", "BITBUCKET_TAG": "v5", "BITBUCKET_COMMIT": sha1},
			CIInfo{Provider: "bitbucket", IsCI: true, Tag: "v5", BuildNum: "22", SHA: sha1}},

		{"teamcity", map[string]string{"TEAMCITY_VERSION": "2024.03", "BUILD_NUMBER": "100", "BUILD_VCS_NUMBER": sha1},
			CIInfo{Provider: "teamcity", IsCI: true, BuildNum: "100", SHA: sha1}},

		{"drone push", map[string]string{"CI": "true", "DRONE": "true", "DRONE_BRANCH": "main", "DRONE_SOURCE_BRANCH": "main", "DRONE_BUILD_NUMBER": "31", "DRONE_COMMIT_SHA": sha1},
			CIInfo{Provider: "drone", IsCI: true, Branch: "main", BuildNum: "31", SHA: sha1}},
		{"drone PR", map[string]string{"DRONE": "true", "DRONE_BRANCH": "main", "DRONE_SOURCE_BRANCH": "topic", "DRONE_BUILD_NUMBER": "32", "DRONE_COMMIT": sha1},
			CIInfo{Provider: "drone", IsCI: true, Branch: "topic", BuildNum: "32", SHA: sha1}},
		{"drone tag", map[string]string{"DRONE": "true", "DRONE_TAG": "v6", "DRONE_BUILD_NUMBER": "33"},
			CIInfo{Provider: "drone", IsCI: true, Tag: "v6", BuildNum: "33"}},

		{"woodpecker", map[string]string{"CI": "woodpecker", "CI_COMMIT_BRANCH": "main", "CI_PIPELINE_NUMBER": "41", "CI_COMMIT_SHA": sha1},
			CIInfo{Provider: "woodpecker", IsCI: true, Branch: "main", BuildNum: "41", SHA: sha1}},
		{"woodpecker PR", map[string]string{"CI": "woodpecker", "CI_COMMIT_BRANCH": "main", "CI_COMMIT_SOURCE_BRANCH": "topic", "CI_PIPELINE_NUMBER": "42"},
			CIInfo{Provider: "woodpecker", IsCI: true, Branch: "topic", BuildNum: "42"}},
		{"woodpecker tag", map[string]string{"CI": "woodpecker", "CI_COMMIT_TAG": "v7", "CI_PIPELINE_NUMBER": "43"},
			CIInfo{Provider: "woodpecker", IsCI: true, Tag: "v7", BuildNum: "43"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := DetectCI(envFunc(tt.env)); got != tt.want {
				t.Errorf("DetectCI = %+v\nwant        %+v", got, tt.want)
			}
		})
	}
}

func TestIsPullRequest(t *testing.T) {
	cases := []struct {
		env  map[string]string
		want bool
	}{
		{map[string]string{"GITHUB_ACTIONS": "true", "GITHUB_EVENT_NAME": "pull_request", "GITHUB_HEAD_REF": "feature"}, true},
		{map[string]string{"GITHUB_ACTIONS": "true", "GITHUB_EVENT_NAME": "push", "GITHUB_REF": "refs/heads/main"}, false},
		{map[string]string{"GITLAB_CI": "true", "CI_MERGE_REQUEST_IID": "12"}, true},
		{map[string]string{"GITLAB_CI": "true", "CI_COMMIT_BRANCH": "main"}, false},
		{map[string]string{"TRAVIS": "true", "TRAVIS_PULL_REQUEST": "false"}, false},
		{map[string]string{"TRAVIS": "true", "TRAVIS_PULL_REQUEST": "7"}, true},
		{map[string]string{"CIRCLECI": "true", "CIRCLE_PULL_REQUEST": "https://github.com/a/b/pull/3"}, true},
		{map[string]string{"JENKINS_URL": "http://j", "CHANGE_ID": "5"}, true},
		{map[string]string{}, false},
	}
	for _, c := range cases {
		get := func(k string) string { return c.env[k] }
		if got := IsPullRequest(DetectCI(get), get); got != c.want {
			t.Errorf("%v: pull request %v, want %v", c.env, got, c.want)
		}
	}
}
