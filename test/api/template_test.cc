#include "pkg/api/template.h"

#include <map>
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace secretsync::api {
namespace {

using ::testing::HasSubstr;

const std::map<std::string, std::string> kValues = {
    {"user", "admin"},        {"password", "s3cr3t<&>"},   {"b64", "aGVsbG8="},
    {"padded", "  spaced\n"}, {"key-with-dash", "dashed"}, {"quoteme", "a\"b\\c\nd"},
};

std::string render(const std::string& text) {
  auto t = Template::parse("t", text);
  EXPECT_TRUE(t.ok()) << t.status();
  if (!t.ok()) {
    return "<parse error>";
  }
  auto out = t->render(kValues);
  EXPECT_TRUE(out.ok()) << out.status();
  return out.ok() ? *out : "<render error>";
}

absl::Status parseError(const std::string& text) {
  auto t = Template::parse("spec.target.template.data[cfg]", text);
  return t.ok() ? absl::OkStatus() : t.status();
}

TEST(TemplateTest, TextAndFields) {
  EXPECT_EQ(render("plain text"), "plain text");
  EXPECT_EQ(render(""), "");
  EXPECT_EQ(render("{{ .user }}"), "admin");
  EXPECT_EQ(render("{{.user}}:{{ .password }}"), "admin:s3cr3t<&>");
  EXPECT_EQ(render("user={{ .user }}\npass={{ .password }}\n"), "user=admin\npass=s3cr3t<&>\n");
  EXPECT_EQ(render("{{ index . \"key-with-dash\" }}"), "dashed");
  EXPECT_EQ(render("{{ \"lit\" }}{{ `raw\\n` }}"), "litraw\\n");
  EXPECT_EQ(render("{{ \"a\\tb\\x41\" }}"), "a\tbA");
  EXPECT_EQ(render("{{/* a comment */}}x{{- /* trimmed */ -}}  y"), "xy");
  EXPECT_EQ(render("{{ \"}}\" }}"), "}}");
}

TEST(TemplateTest, EachFunction) {
  EXPECT_EQ(render("{{ .user | b64enc }}"), "YWRtaW4=");
  EXPECT_EQ(render("{{ .b64 | b64dec }}"), "hello");
  EXPECT_EQ(render("{{ .user | upper }}"), "ADMIN");
  EXPECT_EQ(render("{{ \"MiXeD\" | lower }}"), "mixed");
  EXPECT_EQ(render("[{{ .padded | trim }}]"), "[spaced]");
  EXPECT_EQ(render("{{ trimAll \"x\" \"xxaxx\" }}"), "a");
  EXPECT_EQ(render("{{ .user | trimPrefix \"ad\" }}"), "min");
  EXPECT_EQ(render("{{ .user | trimSuffix \"min\" }}"), "ad");
  EXPECT_EQ(render("{{ .quoteme | quote }}"), "\"a\\\"b\\\\c\\nd\"");
  EXPECT_EQ(render("{{ .user | squote }}"), "'admin'");
  EXPECT_EQ(render("{{ .password | toJson }}"), "\"s3cr3t\\u003c\\u0026\\u003e\"");
  EXPECT_EQ(render("{{ .user | replace \"a\" \"A\" }}"), "Admin");
  EXPECT_EQ(render("{{ upper .user }}"), "ADMIN");
}

TEST(TemplateTest, Pipelines) {
  EXPECT_EQ(render("{{ .user | upper | b64enc }}"), "QURNSU4=");
  EXPECT_EQ(render("{{ .user | b64enc | b64dec | upper }}"), "ADMIN");
  EXPECT_EQ(render("{{ \"  x  \" | trim | quote }}"), "\"x\"");
}

// Go's trim markers: "{{- " eats whitespace before, " -}}" after, newlines included.
TEST(TemplateTest, WhitespaceTrimming) {
  EXPECT_EQ(render("a  \n  {{- .user -}}  \n  b"), "aadminb");
  EXPECT_EQ(render("a {{- .user }} b"), "aadmin b");
  EXPECT_EQ(render("a {{ .user -}} b"), "a adminb");
  EXPECT_EQ(render("line1\n{{- \"\" }}\nline2"), "line1\nline2");
}

TEST(TemplateTest, UnsupportedConstructsAreNamed) {
  struct Case {
    const char* text;
    const char* message;
  };
  for (const Case& c : std::initializer_list<Case>{
           {"{{ if .user }}x{{ end }}", "\"if\" is not supported"},
           {"{{ range . }}{{ end }}", "\"range\" is not supported"},
           {"{{ with .user }}{{ end }}", "\"with\" is not supported"},
           {"{{ template \"x\" }}", "\"template\" is not supported"},
           {"{{ .user | sha256sum }}", "function \"sha256sum\" is not supported"},
           {"{{ $x := .user }}", "variables are not supported"},
           {"{{ (.user) }}", "parenthesized pipelines are not supported"},
           {"{{ .a.b }}", "nested field"},
           {"{{ 3 }}", "number and character literals are not supported"},
           {"{{ . }}", "printing the whole map"},
           {"{{ index .user \"x\" }}", "index is supported only as index . \"key\""},
           {"{{ upper . }}", "\".\" as an argument of upper is not supported"},
           {"{{ upper lower }}", "function \"lower\" as an argument is not supported"},
       }) {
    const absl::Status status = parseError(c.text);
    EXPECT_EQ(status.code(), absl::StatusCode::kUnimplemented) << c.text << ": " << status;
    EXPECT_THAT(std::string(status.message()), HasSubstr(c.message)) << c.text;
    EXPECT_THAT(std::string(status.message()), HasSubstr("spec.target.template.data[cfg]: "));
  }
}

TEST(TemplateTest, SyntaxErrors) {
  for (const char* text :
       {"{{ .user", "{{ \"open }}", "{{ `open }}", "{{ }}", "{{ .user | }}", "{{ | upper }}",
        "{{ .user \"x\" }}", "{{ upper }}", "{{ upper .user .user }}", "{{ .user | \"x\" }}",
        "{{ \"\\q\" }}", "{{ .key-with-dash }}", "{{ ; }}", "{{ /* not alone */ .user }}"}) {
    const absl::Status status = parseError(text);
    EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << text << ": " << status;
  }
  EXPECT_THAT(std::string(parseError("{{ upper .user .user }}").message()),
              HasSubstr("wrong number of args for upper: want 1 got 2"));
}

TEST(TemplateTest, RenderErrorsNeverShowValues) {
  auto t = Template::parse("data[x]", "{{ .missing }}");
  ASSERT_TRUE(t.ok());
  auto out = t->render(kValues);
  ASSERT_FALSE(out.ok());
  EXPECT_EQ(out.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(out.status().message(), "data[x]: map has no entry for key \"missing\"");

  auto bad = Template::parse("data[y]", "{{ .password | b64dec }}");
  ASSERT_TRUE(bad.ok());
  auto decoded = bad->render(kValues);
  ASSERT_FALSE(decoded.ok());
  EXPECT_THAT(std::string(decoded.status().message()), HasSubstr("b64dec"));
  EXPECT_THAT(std::string(decoded.status().message()), ::testing::Not(HasSubstr("s3cr3t")));
}

TEST(TemplateTest, OutputIsBounded) {
  std::map<std::string, std::string> big = {{"v", std::string(600 * 1024, 'x')}};
  auto t = Template::parse("", "{{ .v }}{{ .v }}");
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(t->render(big).status().code(), absl::StatusCode::kResourceExhausted);
  EXPECT_FALSE(Template::parse("", std::string(Template::kMaxTextBytes + 1, 'a')).ok());
}

TEST(TemplateTest, RenderTemplateData) {
  auto out = renderTemplateData({{"config.yaml", "user: {{ .user }}\n"}, {"token", "{{ .b64 }}"}},
                                kValues);
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_EQ(out->at("config.yaml"), "user: admin\n");
  EXPECT_EQ(out->at("token"), "aGVsbG8=");
  auto err = renderTemplateData({{"dsn", "{{ .nope }}"}}, kValues);
  ASSERT_FALSE(err.ok());
  EXPECT_THAT(std::string(err.status().message()),
              HasSubstr("spec.target.template.data[dsn]: map has no entry for key \"nope\""));
}

}  // namespace
}  // namespace secretsync::api
