#include <cstring>
#include <iostream>

#include "account/account.hpp"
#include "account/report.hpp"

namespace {

bool wraps_a_command(int argc, char** argv) {
  for (int i = 1; i + 1 < argc; ++i)
    if (std::strcmp(argv[i], "--") == 0) return true;
  return false;
}

}  // namespace

int main(int argc, char** argv) {
  using namespace gpukit;
  CLI::App app{"Account what a job (or a node) uses of its GPUs and CPUs", "gpuaccount"};
  AccountOptions opts;
  add_common_options(app, opts.common, account_tool_info());
  app.add_option("command", opts.command, "The payload and its arguments, after --")->type_name("-- COMMAND [ARGS...]");
  app.add_option("--pid", opts.pid, "Account the running process tree of PID until it ends")->check(CLI::PositiveNumber);
  app.add_flag("--node", opts.node, "Sample the whole node (occupancy) until --duration or SIGINT/SIGTERM");
  // Ranges are checked by run_account, with the payload not started.
  app.add_option("--duration", opts.duration_s, "Node mode: stop after SECONDS")->type_name("SECONDS");
  app.add_option("--interval", opts.interval_s, "Seconds between samples, 0.1 to 86400 (fractions allowed)")
      ->capture_default_str()->type_name("SECONDS");
  app.add_option("--series", opts.series, "Also write a prmon-style time series (TSV) to FILE")->type_name("FILE");
  app.add_option("--prometheus", opts.prometheus, "Also write a node_exporter textfile to FILE (removed at the end)")
      ->type_name("FILE");
  app.add_flag("--keep-textfile", opts.keep_textfile, "Leave the --prometheus file, with the final figures, at the end");
  app.add_option("--benchmark", opts.benchmark, "Benchmark scores (JSON) for normalised usage")->type_name("FILE");
  app.add_option("--usage-classes", opts.usage_classes, "A site's usage-class thresholds (JSON)")->type_name("FILE");
  app.add_option("--site", opts.identity.site, "Site name (APEL SiteName)")->type_name("NAME");
  app.add_option("--job-id", opts.identity.job_id, "Batch job id (APEL AssociatedRecord)")->type_name("ID");
  app.add_option("--user", opts.identity.user, "Grid DN (APEL GlobalUserName) or local user name")->type_name("NAME");
  app.add_option("--fqan", opts.identity.fqan, "VOMS FQAN (APEL FQAN)")->type_name("FQAN");
  app.add_option("--vo", opts.identity.vo, "Site default VO: FQAN /VO when the job, its ad and its proxy name none")
      ->type_name("VO");
  app.add_option("--cores", opts.identity.cores, "CPU cores allocated to the job")->check(CLI::PositiveNumber)->type_name("N");
  ReportOptions report;
  CLI::App* report_app = app.add_subcommand("report", "Aggregate account records (files, directories) into a site report");
  report_app->fallthrough();
  report_app->add_option("paths", report.paths, "Account records, or directories searched for *.json")->type_name("FILE|DIR...");
  report_app->add_option("--month", report.month, "Only records that ended in this month")->type_name("YYYY-MM");
  report_app->add_option("--usage-classes", report.usage_classes, "A site's usage-class thresholds: classify every record again")->type_name("FILE");
  // Options that do not parse are refused like any other bad option: the
  // payload is not started under a wrapper that cannot do what it was asked.
  return tool_main(app, opts.common, argc, argv, [&] { return report_app->parsed() ? run_report(report, opts.common) : run_account(opts); },
                   wraps_a_command(argc, argv) ? "the command was not started" : "");
}
