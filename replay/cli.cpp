#include "replay/cli.hpp"

#include <boost/program_options.hpp>

#include <charconv>
#include <fstream>
#include <ostream>
#include <span>

#include "ledger/msgpack.hpp"
#include "replay/commands.hpp"
#include "runtime/clock.hpp"
#include "runtime/ids.hpp"

namespace omnicast::replay {

namespace po = boost::program_options;

namespace {

constexpr const char* kProgram = "omnicast-replay";

// Abbreviations are refused: `--lim 5` must not silently mean --limit in a script that a later
// version with a --limits option would break.
constexpr int kStyle = po::command_line_style::unix_style & ~po::command_line_style::allow_guessing;

// ---- option values ---------------------------------------------------------------------------
// Every number is parsed here rather than by program_options, whose lexical_cast turns "-1" into
// 18446744073709551615 for an unsigned option.

std::uint64_t parse_u64(const char* option, const std::string& text, const char* what) {
  std::uint64_t v = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (text.empty() || ec != std::errc{} || end != text.data() + text.size())
    throw UsageError(std::string("--") + option + ": '" + text + "' is not " + what);
  return v;
}

std::uint64_t parse_seq(const char* option, const std::string& text) {
  const auto seq = parse_u64(option, text, "a sequence number (a whole number from 1)");
  if (seq == 0)
    throw UsageError(std::string("--") + option + ": sequence numbers start at 1, got 0");
  return seq;
}

std::uint64_t parse_limit(const std::string& text) {
  const auto n = parse_u64("limit", text, "a count (a whole number from 1)");
  if (n == 0) throw UsageError("--limit: must be at least 1, got 0");
  return n;
}

std::int64_t parse_time_value(const char* option, const std::string& text) {
  runtime::Micros us = 0;
  if (!runtime::parse_time(text, us))
    throw UsageError(std::string("--") + option + ": '" + text +
                     "' is not a time (RFC 3339 such as 2026-01-02T03:04:05Z, or microseconds "
                     "since the epoch)");
  return us;
}

// Kinds are lowercase dotted names (the ledger refuses anything else), so a pattern that could
// never match is a mistake worth pointing out.
KindPattern parse_kind(const std::string& text) {
  KindPattern k{text, false};
  if (!k.text.empty() && k.text.back() == '*') {
    k.text.pop_back();
    k.prefix = true;
  }
  const bool valid = k.text.find_first_not_of("abcdefghijklmnopqrstuvwxyz0123456789_.") == std::string::npos;
  if ((k.text.empty() && !k.prefix) || !valid)
    throw UsageError("--kind: '" + text +
                     "' is not a kind (lowercase letters, digits, '_' and '.', with an optional "
                     "trailing '*' for a prefix)");
  return k;
}

// Actors are ids (the ledger refuses anything else), so an id that is not one is a typo.
std::string parse_id(const char* option, const std::string& text) {
  if (!runtime::is_valid_id(text))
    throw UsageError(std::string("--") + option + ": '" + text +
                     "' is not an id (1 to 128 of letters, digits, '_', '.', '-')");
  return text;
}

ledger::PublicKey read_public_key(const std::string& path) {
  constexpr std::size_t kMaxKeyFile = 64 * 1024;  // a PEM public key is a few hundred bytes
  std::ifstream in(path, std::ios::binary);
  if (!in) throw UsageError("--public-key: cannot open '" + path + "'");
  std::string text(kMaxKeyFile + 1, '\0');
  in.read(text.data(), static_cast<std::streamsize>(text.size()));
  if (in.bad()) throw UsageError("--public-key: cannot read '" + path + "'");
  text.resize(static_cast<std::size_t>(in.gcount()));
  if (text.size() > kMaxKeyFile) throw UsageError("--public-key: '" + path + "' is too large to be a key");
  try {
    return ledger::parse_public_key(text);
  } catch (const std::invalid_argument& e) {
    throw UsageError("--public-key: '" + path + "' holds no public key (" + e.what() + ")");
  }
}

template <class T>
std::optional<T> get(const po::variables_map& vm, const char* name) {
  if (!vm.count(name)) return std::nullopt;
  return vm[name].as<T>();
}

// ---- the commands --------------------------------------------------------------------------

struct CommandSpec {
  const char* name;      // as typed: "verify", "audit consent"
  const char* synopsis;  // its options, for the usage line
  const char* summary;   // one line, for the global help
  const char* about;     // a paragraph, for `<command> --help`
  po::options_description (*options)();
  int (*run)(const CommonOptions&, const po::variables_map&, std::ostream& out, std::ostream& err);
};

po::options_description verify_options() {
  po::options_description d("verify options");
  d.add_options()
      ("public-key", po::value<std::string>()->value_name("FILE"),
       "check checkpoint signatures against this Ed25519 public key (PEM, or 64 hex digits) "
       "instead of the key each checkpoint carries")
      ("no-indexes", po::bool_switch(), "skip checking the by_actor index against the log");
  return d;
}

int verify_main(const CommonOptions& common, const po::variables_map& vm, std::ostream& out,
                std::ostream& err) {
  VerifyCommand cmd;
  if (const auto path = get<std::string>(vm, "public-key")) cmd.trusted_key = read_public_key(*path);
  cmd.check_indexes = !vm["no-indexes"].as<bool>();
  return run_verify(common, cmd, out, err);
}

po::options_description dump_options() {
  po::options_description d("dump options (filters combine with AND)");
  d.add_options()
      ("kind", po::value<std::vector<std::string>>()->value_name("K"),
       "only this kind; repeatable (any of them); a trailing '*' matches a prefix: 'stream.*'")
      ("actor", po::value<std::string>()->value_name("ID"), "only this actor's events (read through the by_actor index)")
      ("tenant", po::value<std::string>()->value_name("T"), "only this tenant's events")
      ("since", po::value<std::string>()->value_name("TIME"), "only events at or after TIME (RFC 3339 or microseconds)")
      ("until", po::value<std::string>()->value_name("TIME"), "only events at or before TIME")
      ("from-seq", po::value<std::string>()->value_name("N"), "start at seq N")
      ("to-seq", po::value<std::string>()->value_name("N"), "stop after seq N")
      ("limit", po::value<std::string>()->value_name("N"), "print at most N records");
  return d;
}

int dump_main(const CommonOptions& common, const po::variables_map& vm, std::ostream& out,
              std::ostream& err) {
  DumpCommand cmd;
  for (const auto& k : get<std::vector<std::string>>(vm, "kind").value_or(std::vector<std::string>{}))
    cmd.kinds.push_back(parse_kind(k));
  if (const auto a = get<std::string>(vm, "actor")) cmd.actor = parse_id("actor", *a);
  cmd.tenant = get<std::string>(vm, "tenant");
  if (const auto t = get<std::string>(vm, "since")) cmd.since_us = parse_time_value("since", *t);
  if (const auto t = get<std::string>(vm, "until")) cmd.until_us = parse_time_value("until", *t);
  if (const auto s = get<std::string>(vm, "from-seq")) cmd.from_seq = parse_seq("from-seq", *s);
  if (const auto s = get<std::string>(vm, "to-seq")) cmd.to_seq = parse_seq("to-seq", *s);
  if (const auto n = get<std::string>(vm, "limit")) cmd.limit = parse_limit(*n);
  if (cmd.from_seq > cmd.to_seq)
    throw UsageError("--from-seq " + std::to_string(cmd.from_seq) + " is after --to-seq " +
                     std::to_string(cmd.to_seq));
  if (cmd.since_us && cmd.until_us && *cmd.since_us > *cmd.until_us)
    throw UsageError("--since " + vm["since"].as<std::string>() + " is after --until " +
                     vm["until"].as<std::string>());
  return run_dump(common, cmd, out, err);
}

po::options_description state_options() {
  po::options_description d("state options");
  d.add_options()
      ("at-seq", po::value<std::string>()->value_name("N"), "the state after seq N (default: the head)")
      ("at-time", po::value<std::string>()->value_name("TIME"),
       "the state after the last event at or before TIME (RFC 3339 or microseconds)")
      ("actor", po::value<std::string>()->value_name("ID"), "only this session or room")
      ("no-snapshot", po::bool_switch(), "fold every event from seq 1 instead of starting from the newest snapshot");
  return d;
}

int state_main(const CommonOptions& common, const po::variables_map& vm, std::ostream& out,
               std::ostream& err) {
  StateCommand cmd;
  if (vm.count("at-seq") && vm.count("at-time"))
    throw UsageError("--at-seq and --at-time both say where to stop; give one");
  if (const auto s = get<std::string>(vm, "at-seq")) cmd.at_seq = parse_seq("at-seq", *s);
  if (const auto t = get<std::string>(vm, "at-time")) cmd.at_time_us = parse_time_value("at-time", *t);
  if (const auto a = get<std::string>(vm, "actor")) cmd.actor = parse_id("actor", *a);
  cmd.use_snapshot = !vm["no-snapshot"].as<bool>();
  return run_state(common, cmd, out, err);
}

po::options_description audit_consent_options() {
  po::options_description d("audit consent options");
  d.add_options()
      ("session", po::value<std::string>()->value_name("ID"), "the stream session to audit (required)")
      ("json", po::bool_switch(), "print the report as one JSON document");
  return d;
}

int audit_consent_main(const CommonOptions& common, const po::variables_map& vm, std::ostream& out,
                       std::ostream& err) {
  AuditConsentCommand cmd;
  const auto session = get<std::string>(vm, "session");
  if (!session) throw UsageError("--session is required");
  cmd.session = parse_id("session", *session);
  cmd.json = vm["json"].as<bool>();
  return run_audit_consent(common, cmd, out, err);
}

po::options_description stats_options() {
  po::options_description d("stats options");
  d.add_options()("json", po::bool_switch(), "print the statistics as one JSON document");
  return d;
}

int stats_main(const CommonOptions& common, const po::variables_map& vm, std::ostream& out,
               std::ostream& err) {
  return run_stats(common, StatsCommand{vm["json"].as<bool>()}, out, err);
}

po::options_description no_options() { return po::options_description("options"); }

int pubkey_main(const CommonOptions& common, const po::variables_map&, std::ostream& out,
                std::ostream& err) {
  return run_pubkey(common, PubkeyCommand{}, out, err);
}

const CommandSpec kCommands[] = {
    {"verify", "[--public-key FILE] [--no-indexes]",
     "check the hash chain, the signed checkpoints and the by_actor index",
     "Walks the whole ledger: every record decodes and is numbered from 1 without gaps, every\n"
     "hash recomputes and chains to the previous one, every checkpoint names a hash in the chain\n"
     "and carries a valid Ed25519 signature, every by_actor entry points at a record of its actor.\n"
     "Prints one summary line and exits 0, or prints 'verify: FAILED at seq N: <problem>' on\n"
     "stderr and exits 1. Without --public-key the signatures are only checked against the key\n"
     "each checkpoint carries: pass the key you trust to prove who signed.",
     verify_options, verify_main},
    {"dump", "[--kind K]... [--actor ID] [--tenant T] [--since TIME] [--until TIME] [--from-seq N] [--to-seq N] [--limit N]",
     "print records as JSON lines, filtered",
     "Prints one JSON object per record, in seq order: seq, ts, ts_us, kind, kind_version, actor,\n"
     "tenant, correlation_id, op_id, client_id, payload (the MessagePack payload as JSON),\n"
     "prev_hash, hash. A record that does not decode stops the dump with exit code 3.",
     dump_options, dump_main},
    {"state", "[--at-seq N | --at-time TIME] [--actor ID] [--no-snapshot]",
     "print the state folded from the ledger, as JSON",
     "Folds the ledger as the node does on restart and prints one JSON document: seq, hash, ts,\n"
     "digest (SHA-256 of the state's canonical encoding, comparable with a live node's), sessions,\n"
     "rooms and uploads. With --actor only that aggregate is kept (the digest stays the whole\n"
     "state's); exit code 1 if it does not exist at that point.",
     state_options, state_main},
    {"audit consent", "--session ID [--json]",
     "the consent and recording timeline of one session, with any violation",
     "Rebuilds who was present (the session's room; a stage's creator), whose recording consent\n"
     "was in force and when the session recorded, and reports every stretch during which a\n"
     "recording ran while someone present had no consent. Exit code 0 when there is none, 1 when\n"
     "there is any or the session does not exist.",
     audit_consent_options, audit_consent_main},
    {"stats", "[--json]",
     "counts: events per kind and tenant, checkpoints, snapshots, database entries, sizes",
     "Scans the log once and prints the head, the number of events per kind and per tenant, the\n"
     "first and last event time, the checkpoints and whether the head is covered by one, the\n"
     "snapshots, the entries of each database and the file and map sizes.",
     stats_options, stats_main},
    {"pubkey", "",
     "print the checkpoint signing key recorded in the ledger",
     "Prints the Ed25519 public key stored in the ledger's meta as 64 hex digits: the key the node\n"
     "last signed checkpoints with. The output is accepted by verify --public-key, but a key read\n"
     "from the ledger proves nothing about who wrote it: compare it with one obtained elsewhere.",
     no_options, pubkey_main},
};

const CommandSpec* find_command(std::string_view name) {
  for (const auto& c : kCommands)
    if (name == c.name) return &c;
  return nullptr;
}

// ---- parsing ---------------------------------------------------------------------------------

po::options_description global_options() {
  po::options_description d("global options (before the command)");
  d.add_options()
      ("data-dir", po::value<std::string>()->value_name("DIR"), "the node's data directory; the ledger is DIR/ledger (default: ./data)")
      ("ledger", po::value<std::string>()->value_name("DIR"), "the ledger directory itself (holding data.mdb)")
      ("progress", po::bool_switch(), "report progress on stderr every 1,000,000 records (on by default when stderr is a terminal)")
      ("help,h", "print this help");
  return d;
}

po::options_description common_command_options() {
  po::options_description d("common options");
  d.add_options()
      ("progress", po::bool_switch(), "report progress on stderr every 1,000,000 records")
      ("help,h", "print this help");
  return d;
}

po::variables_map parse(const po::options_description& visible, std::span<const std::string> args) {
  // Positional arguments are collected so they can be refused by name ("unexpected argument
  // 'x'") rather than with program_options' "too many positional options".
  po::options_description hidden;
  hidden.add_options()("positional", po::value<std::vector<std::string>>());
  po::options_description all;
  all.add(visible).add(hidden);
  po::positional_options_description positional;
  positional.add("positional", -1);
  po::variables_map vm;
  try {
    po::store(po::command_line_parser(std::vector<std::string>(args.begin(), args.end()))
                  .options(all)
                  .positional(positional)
                  .style(kStyle)
                  .run(),
              vm);
    po::notify(vm);
  } catch (const po::error& e) {
    throw UsageError(e.what());
  }
  if (vm.count("positional"))
    throw UsageError("unexpected argument '" + vm["positional"].as<std::vector<std::string>>().front() + "'");
  return vm;
}

// The index of the command word in `args`: the first argument that is neither a global option
// nor the value of one. args.size() if there is none.
std::size_t command_index(const std::vector<std::string>& args) {
  std::size_t i = 0;
  while (i < args.size() && args[i].size() > 1 && args[i][0] == '-') {
    const bool takes_value = args[i] == "--data-dir" || args[i] == "--ledger";
    i += takes_value ? 2 : 1;
  }
  return std::min(i, args.size());
}

// `dump --ledger x` would otherwise be "unrecognised option '--ledger'", which is true but
// unhelpful when the option exists and is merely in the wrong place.
void refuse_misplaced_globals(std::span<const std::string> command_args) {
  for (const auto& a : command_args)
    for (const char* global : {"--data-dir", "--ledger"})
      if (a == global || a.starts_with(std::string(global) + "="))
        throw UsageError(std::string(global) + " is a global option: give it before the command");
}

std::filesystem::path ledger_dir(const po::variables_map& vm) {
  const auto data_dir = get<std::string>(vm, "data-dir");
  const auto ledger = get<std::string>(vm, "ledger");
  if (data_dir && ledger) throw UsageError("--data-dir and --ledger both say where the ledger is; give one");
  if (ledger) {
    if (ledger->empty()) throw UsageError("--ledger: the path is empty");
    return *ledger;
  }
  if (data_dir && data_dir->empty()) throw UsageError("--data-dir: the path is empty");
  return std::filesystem::path(data_dir.value_or("./data")) / "ledger";
}

void print_global_help(std::ostream& out) {
  out << kProgram << ": read-only audit and verification of an omnicast ledger (safe while the node runs)\n\n"
      << "usage: " << kProgram << " [--data-dir DIR | --ledger DIR] [--progress] <command> [options]\n\n"
      << "commands:\n";
  for (const auto& c : kCommands) {
    std::string name = c.name;
    name.resize(std::max<std::size_t>(name.size(), 15), ' ');
    out << "  " << name << "  " << c.summary << '\n';
  }
  out << '\n' << global_options() << '\n'
      << "exit codes: 0 ok; 1 the check failed (verify found a problem, an audit found a violation,\n"
      << "the session or actor asked for does not exist); 2 usage error; 3 the ledger cannot be read.\n\n"
      << "'" << kProgram << " <command> --help' describes a command; docs/replay.md is the manual.\n";
}

void print_command_help(const CommandSpec& c, std::ostream& out) {
  out << "usage: " << kProgram << " [--data-dir DIR | --ledger DIR] " << c.name
      << (*c.synopsis ? " " : "") << c.synopsis << "\n\n"
      << c.about << "\n\n";
  const auto options = c.options();
  if (!options.options().empty()) out << options << '\n';
  out << common_command_options();
}

void print_audit_help(std::ostream& out) {
  out << "usage: " << kProgram << " [--data-dir DIR | --ledger DIR] audit <audit> [options]\n\n"
      << "audits:\n"
      << "  consent  the consent and recording timeline of one session, with any violation\n\n"
      << "'" << kProgram << " audit consent --help' describes its options.\n";
}

// Where a usage error was made, for its message and for the hint that follows it.
struct UsageContext {
  std::string where = kProgram;  // "omnicast-replay" or "omnicast-replay dump"
};

int usage_error(const UsageContext& ctx, const std::string& message, std::ostream& err) {
  err << ctx.where << ": " << message << '\n' << "Try '" << ctx.where << " --help'.\n";
  return kExitUsage;
}

// Runs a command, turning the ways a ledger can fail to be read into exit code 3.
int run_command(const CommandSpec& c, const CommonOptions& common, const po::variables_map& vm,
                std::ostream& out, std::ostream& err) {
  const std::string dir = common.ledger_dir.string();
  try {
    return c.run(common, vm, out, err);
  } catch (const ledger::CorruptRecord& e) {
    err << c.name << ": " << e.what() << '\n';
  } catch (const ledger::StoreError& e) {
    err << c.name << ": cannot read the ledger at " << dir << ": " << e.what() << '\n';
  } catch (const LedgerUnreadable& e) {
    err << c.name << ": cannot read the ledger at " << dir << ": " << e.what() << '\n';
  } catch (const ledger::DecodeError& e) {
    err << c.name << ": the ledger at " << dir << " holds data that does not decode: " << e.what() << '\n';
  }
  return kExitUnreadable;
}

int dispatch(const std::vector<std::string>& args, std::ostream& out, std::ostream& err,
             bool err_is_tty, UsageContext& ctx) {
  const std::size_t at = command_index(args);
  const auto globals = parse(global_options(), std::span(args).first(at));
  if (globals.count("help")) {
    print_global_help(out);
    return kExitOk;
  }
  if (at == args.size()) throw UsageError("no command given");
  CommonOptions common;
  common.ledger_dir = ledger_dir(globals);

  std::string name = args[at];
  std::size_t rest = at + 1;
  if (name == "audit") {
    ctx.where = std::string(kProgram) + " audit";
    if (rest == args.size()) throw UsageError("which audit? (known: consent)");
    if (args[rest] == "--help") {
      print_audit_help(out);
      return kExitOk;
    }
    if (args[rest] != "consent") throw UsageError("unknown audit '" + args[rest] + "' (known: consent)");
    name += " " + args[rest++];
  }
  const CommandSpec* command = find_command(name);
  if (!command) throw UsageError("unknown command '" + name + "'");
  ctx.where = std::string(kProgram) + " " + command->name;

  const auto command_args = std::span(args).subspan(rest);
  refuse_misplaced_globals(command_args);
  po::options_description visible = command->options();
  visible.add(common_command_options());
  const auto vm = parse(visible, command_args);
  if (vm.count("help")) {
    print_command_help(*command, out);
    return kExitOk;
  }
  common.progress = err_is_tty || globals["progress"].as<bool>() || vm["progress"].as<bool>();
  return run_command(*command, common, vm, out, err);
}

}  // namespace

int run_cli(const std::vector<std::string>& args, std::ostream& out, std::ostream& err,
            bool err_is_tty) {
  UsageContext ctx;
  try {
    return dispatch(args, out, err, err_is_tty, ctx);
  } catch (const UsageError& e) {
    return usage_error(ctx, e.what(), err);
  }
}

}  // namespace omnicast::replay
