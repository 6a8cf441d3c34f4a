#!/usr/bin/env python3
"""Unit tests of scripts/check-source-limits: what counts as a function and how long it is."""

import os
import subprocess
import sys
import tempfile
import unittest
from importlib.machinery import SourceFileLoader

HERE = os.path.dirname(os.path.abspath(__file__))
SCRIPT = os.path.join(HERE, "check-source-limits")
limits = SourceFileLoader("check_source_limits", SCRIPT).load_module()

SAMPLE = r'''#include <x>
namespace a {
namespace {
const char* kSql = R"sql(
  CREATE TABLE t { ( } ;
)sql";
struct S {
  int x_{0};
  S(int a) : x_{a}, y_(2) {
    auto f = [](int q) { return q; };
  }
  int Get() const noexcept { return x_; }
  std::string s = "}{";
  char c = '{';
  int n = 1'000'000;
 public:
  auto Trail() -> int {
    return 1;
  }
};
enum class E { kA, kB };
int arr[] = {1, 2};
}  // namespace
bool operator==(const S& a, const S& b) { return true; }
void S2::operator()(int x) {
  // }
  /* { */
}
template <typename T>
T Foo<T>::Bar(T t) {
  return t;
}
}  // namespace a
'''


class FunctionsTest(unittest.TestCase):
  def test_finds_each_function_with_its_first_line_and_length(self):
    found = list(limits.Functions(limits.Blank(SAMPLE)))
    self.assertEqual(found, [("S", 9, 3), ("Get", 12, 1), ("Trail", 17, 3), ("operator==", 24, 1),
                             ("S2::operator()", 25, 4), ("Foo<T>::Bar", 29, 4)])

  def test_blank_keeps_line_numbers(self):
    self.assertEqual(limits.Blank(SAMPLE).count("\n"), SAMPLE.count("\n"))


class CommandTest(unittest.TestCase):
  def Run(self, body_lines):
    with tempfile.TemporaryDirectory() as root:
      os.makedirs(os.path.join(root, "src", "x", "testing"))
      body = "".join("  ++n;\n" for _ in range(body_lines))
      with open(os.path.join(root, "src", "x", "long.cpp"), "w") as f:
        f.write("int Long(int n) {\n" + body + "  return n;\n}\n")
      # Tests are excluded: a long test function does not count.
      with open(os.path.join(root, "src", "x", "long_test.cpp"), "w") as f:
        f.write("void T() {\n" + "  ;\n" * 300 + "}\n")
      with open(os.path.join(root, "src", "x", "testing", "double.hpp"), "w") as f:
        f.write("void D() {\n" + "  ;\n" * 300 + "}\n")
      return subprocess.run([sys.executable, SCRIPT, "--root", root], capture_output=True, text=True)

  def test_a_function_of_100_lines_passes(self):
    result = self.Run(97)  # head, 97 + 1 body lines, closing brace
    self.assertEqual(result.returncode, 0, result.stdout + result.stderr)

  def test_a_function_of_101_lines_fails_with_its_place_and_length(self):
    result = self.Run(98)
    self.assertEqual(result.returncode, 1)
    self.assertIn("src/x/long.cpp:1: function Long has 101 lines (limit 100)", result.stdout)


if __name__ == "__main__":
  unittest.main()
