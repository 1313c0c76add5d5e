#include "probe/visible.hpp"

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <map>
#include <optional>
#include <set>
#include <vector>

#include "core/utf8.hpp"
#include "core/units.hpp"

namespace gpukit {

namespace {

constexpr const char* visibility_variables[] = {
    "CUDA_VISIBLE_DEVICES", "CUDA_DEVICE_ORDER",    "NVIDIA_VISIBLE_DEVICES",
    "HIP_VISIBLE_DEVICES",  "ROCR_VISIBLE_DEVICES", "GPU_DEVICE_ORDINAL",
};

// One device a runtime can enumerate: a whole GPU or a MIG instance.
struct Device {
  std::string kind;  // "gpu" or "mig"
  std::string vendor;
  std::string uuid;         // full; empty when the probe could not read it
  std::string parent_uuid;  // MIG: the parent GPU's UUID
  size_t gpu_pos = 0;       // position in the gpus section
  const json* instance = nullptr;
  std::string selected_by;
};

using DeviceList = std::vector<Device>;

std::string lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

bool starts_with_ci(const std::string& text, const std::string& prefix) {
  return text.size() >= prefix.size() && lower(text.substr(0, prefix.size())) == lower(prefix);
}

bool all_digits(const std::string& s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return std::isdigit(static_cast<unsigned char>(c)); });
}

std::string trim(const std::string& s) {
  size_t b = s.find_first_not_of(" \t");
  if (b == std::string::npos) return {};
  size_t e = s.find_last_not_of(" \t");
  return s.substr(b, e - b + 1);
}

// Comma-separated tokens, spaces around them dropped; empty tokens are kept
// because a runtime treats them as invalid entries.
std::vector<std::string> split_tokens(const std::string& value) {
  std::vector<std::string> tokens;
  size_t start = 0;
  for (;;) {
    size_t comma = value.find(',', start);
    tokens.push_back(trim(value.substr(start, comma == std::string::npos ? std::string::npos : comma - start)));
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  return tokens;
}

std::string quoted_list(const std::vector<std::string>& tokens, size_t from) {
  std::string out;
  for (size_t i = from; i < tokens.size(); ++i) {
    if (!out.empty()) out += ", ";
    out += "'" + tokens[i] + "'";
  }
  return out;
}

std::string string_field(const json& object, const char* key) {
  auto it = object.find(key);
  return it != object.end() && it->is_string() ? it->get<std::string>() : std::string();
}

std::optional<long long> int_field(const json& object, const char* key) {
  auto it = object.find(key);
  if (it == object.end() || !it->is_number_integer()) return std::nullopt;
  return it->get<long long>();
}

std::string mig_mode(const json& gpu) {
  auto mig = gpu.find("mig");
  return mig != gpu.end() && mig->is_object() ? string_field(*mig, "mode") : std::string();
}

const json& mig_instances(const json& gpu) {
  static const json none = json::array();
  auto mig = gpu.find("mig");
  if (mig == gpu.end() || !mig->is_object()) return none;
  auto it = mig->find("instances");
  return it != mig->end() && it->is_array() ? *it : none;
}

// A GPU in MIG mode is no CUDA device itself: its instances are.
bool is_mig_parent(const json& gpu) { return mig_mode(gpu) == "enabled"; }

bool driver_usable(const json& gpu) {
  auto it = gpu.find("driver_loaded");
  return it == gpu.end() || !it->is_boolean() || it->get<bool>();
}

std::string describe(const Device& d) {
  if (!d.uuid.empty()) return d.uuid;
  return "the " + d.vendor + " GPU at position " + std::to_string(d.gpu_pos) + " of the gpus section";
}

Device whole_gpu(const json& gpus, size_t pos) {
  const json& gpu = gpus[pos];
  return Device{"gpu", string_field(gpu, "vendor"), string_field(gpu, "uuid"), {}, pos, nullptr, {}};
}

Device mig_device(const json& gpus, size_t pos, const json& instance) {
  const json& gpu = gpus[pos];
  return Device{"mig", string_field(gpu, "vendor"), string_field(instance, "uuid"), string_field(gpu, "uuid"), pos,
                &instance, {}};
}

bool same_device(const Device& a, const Device& b) { return a.gpu_pos == b.gpu_pos && a.instance == b.instance; }

// What one token of a selection variable picked out of a device list.
struct Selection {
  std::vector<size_t> picked;  // positions in the list
  std::string problem;         // why the token is invalid; empty when it is valid
};

// Devices of `list` whose UUID equals `token` or, failing that, starts with it.
// CUDA accepts any unique prefix that includes the "GPU-"/"MIG-" tag.
std::vector<size_t> uuid_matches(const DeviceList& list, const std::string& token) {
  std::vector<size_t> exact, prefix;
  for (size_t i = 0; i < list.size(); ++i) {
    if (list[i].uuid.empty()) continue;
    if (lower(list[i].uuid) == lower(token)) exact.push_back(i);
    else if (starts_with_ci(list[i].uuid, token)) prefix.push_back(i);
  }
  return exact.empty() ? prefix : exact;
}

std::string ambiguity(const DeviceList& list, const std::vector<size_t>& matches) {
  std::string names;
  for (size_t i : matches) {
    if (!names.empty()) names += ", ";
    names += list[i].uuid;
  }
  return "is ambiguous: it is a prefix of " + names;
}

// "MIG-GPU-<uuid>/<gi>/<ci>", the MIG form of drivers before R470.
Selection match_legacy_mig(const DeviceList& list, const std::string& token) {
  std::string body = token.substr(4);  // "GPU-<uuid>/<gi>/<ci>"
  size_t s1 = body.find('/');
  size_t s2 = s1 == std::string::npos ? std::string::npos : body.find('/', s1 + 1);
  if (s2 == std::string::npos || !all_digits(body.substr(s1 + 1, s2 - s1 - 1)) || !all_digits(body.substr(s2 + 1)))
    return {{}, "is not of the form MIG-GPU-<uuid>/<gpu instance>/<compute instance>"};
  std::string parent = body.substr(0, s1);
  auto gi_parsed = parse_integer<long long>(body.substr(s1 + 1, s2 - s1 - 1));
  auto ci_parsed = parse_integer<long long>(body.substr(s2 + 1));
  if (!gi_parsed || !ci_parsed) return {{}, "names an instance number too large to exist"};
  long long gi = *gi_parsed, ci = *ci_parsed;
  std::vector<size_t> matches;
  std::set<std::string> parents;
  for (size_t i = 0; i < list.size(); ++i) {
    const Device& d = list[i];
    if (d.kind != "mig" || d.parent_uuid.empty() || !starts_with_ci(d.parent_uuid, parent)) continue;
    parents.insert(d.parent_uuid);
    if (int_field(*d.instance, "gpu_instance_id") == gi && int_field(*d.instance, "compute_instance_id") == ci)
      matches.push_back(i);
  }
  if (parents.size() > 1) {
    std::string names;
    for (const auto& p : parents) names += (names.empty() ? "" : ", ") + p;
    return {{}, "is ambiguous: " + parent + " is a prefix of " + names};
  }
  if (matches.empty()) {
    if (parents.empty()) return {{}, "names no GPU in MIG mode here"};
    return {{}, "names no MIG instance: " + *parents.begin() + " has no GPU instance " + std::to_string(gi) +
                    " with compute instance " + std::to_string(ci)};
  }
  return {{matches.front()}, {}};
}

// One token of CUDA_VISIBLE_DEVICES, HIP_VISIBLE_DEVICES, ROCR_VISIBLE_DEVICES or
// GPU_DEVICE_ORDINAL against the devices the runtime enumerates at that point.
// `hidden_parents` are GPUs in MIG mode, which the CUDA runtime does not list.
Selection match_runtime_token(const DeviceList& list, const std::string& token, const DeviceList& hidden_parents) {
  if (token.empty()) return {{}, "is an empty entry"};
  if (all_digits(token)) {
    size_t index = parse_integer<size_t>(token).value_or(list.size());
    if (index < list.size()) return {{index}, {}};
    std::string range = list.empty() ? "there are no devices" :
                        list.size() == 1 ? "the only device is 0" :
                                           "the devices are 0-" + std::to_string(list.size() - 1);
    return {{}, "is not a device index here (" + range + ")"};
  }
  if (starts_with_ci(token, "MIG-GPU-")) return match_legacy_mig(list, token);
  if (starts_with_ci(token, "GPU-") || starts_with_ci(token, "MIG-")) {
    auto matches = uuid_matches(list, token);
    if (matches.size() == 1) return {matches, {}};
    if (matches.size() > 1) return {{}, ambiguity(list, matches)};
    if (!uuid_matches(hidden_parents, token).empty())
      return {{}, "names a GPU in MIG mode, which is no device itself; name its MIG- instances instead"};
    return {{}, "matches no device UUID here"};
  }
  return {{}, "is neither a device index nor a GPU-/MIG- UUID"};
}

// Applies one selection variable the way the CUDA and ROCm runtimes do: the
// devices come out in the order of the tokens, and parsing stops at the first
// invalid token, so the tokens after it select nothing.
DeviceList apply_runtime_variable(const DeviceList& list, const std::string& variable, const std::string& value,
                                  const std::string& runtime, const DeviceList& hidden_parents,
                                  std::vector<std::string>& problems) {
  DeviceList out;
  auto tokens = split_tokens(value);
  if (value.empty()) return out;  // "": no devices at all
  std::vector<std::string> chosen_by;
  for (size_t t = 0; t < tokens.size(); ++t) {
    const std::string& token = tokens[t];
    Selection s = match_runtime_token(list, token, hidden_parents);
    if (!s.problem.empty()) {
      std::string rest = quoted_list(tokens, t + 1);
      problems.push_back(variable + ": '" + token + "' " + s.problem + "; the " + runtime + " runtime stops there" +
                         (rest.empty() ? std::string(".") : " and ignores " + rest + "."));
      break;
    }
    const Device& d = list[s.picked.front()];
    auto dup = std::find_if(out.begin(), out.end(), [&](const Device& o) { return same_device(o, d); });
    if (dup != out.end()) {
      problems.push_back(variable + ": '" + token + "' selects " + describe(d) + " again (already selected by '" +
                         chosen_by[static_cast<size_t>(dup - out.begin())] + "'); it counts once.");
      continue;
    }
    out.push_back(d);
    out.back().selected_by = token;
    chosen_by.push_back(token);
  }
  return out;
}

// NVIDIA_VISIBLE_DEVICES: which GPUs and MIG instances the NVIDIA container
// runtime mounted into this container. Indices are NVML (PCI bus) indices.
struct ContainerView {
  bool restricted = false;
  std::set<size_t> whole;                             // gpu positions exposed with all their instances
  std::set<std::pair<size_t, const json*>> instances;  // single MIG instances exposed
  std::map<std::pair<size_t, const json*>, std::string> token_of;
};

ContainerView nvidia_container_view(const json& gpus, const std::vector<size_t>& nvidia, const std::string* value,
                                    std::vector<std::string>& problems) {
  ContainerView view;
  if (!value || *value == "all") return view;
  view.restricted = true;
  if (*value == "none" || *value == "void" || value->empty()) return view;
  const std::string variable = "NVIDIA_VISIBLE_DEVICES";
  for (const std::string& token : split_tokens(*value)) {
    std::optional<std::pair<size_t, const json*>> hit;
    size_t colon = token.find(':');
    for (size_t pos : nvidia) {
      const json& gpu = gpus[pos];
      auto index = int_field(gpu, "index");
      if (all_digits(token) && index && std::to_string(*index) == token) hit = {{pos, nullptr}};
      else if (!token.empty() && lower(string_field(gpu, "uuid")) == lower(token)) hit = {{pos, nullptr}};
      for (const json& inst : mig_instances(gpu)) {
        bool by_uuid = lower(string_field(inst, "uuid")) == lower(token);
        // "<gpu index>:<mig index>", the container toolkit's MIG index form.
        bool by_pair = colon != std::string::npos && index &&
                       token.substr(0, colon) == std::to_string(*index) && all_digits(token.substr(colon + 1)) &&
                       parse_integer<long long>(token.substr(colon + 1)) &&
                       int_field(inst, "index") == parse_integer<long long>(token.substr(colon + 1));
        bool by_legacy = false;
        if (starts_with_ci(token, "MIG-GPU-")) {
          std::string want = "MIG-" + string_field(gpu, "uuid") + "/" +
                             std::to_string(int_field(inst, "gpu_instance_id").value_or(-1)) + "/" +
                             std::to_string(int_field(inst, "compute_instance_id").value_or(-1));
          by_legacy = lower(want) == lower(token);
        }
        if (by_uuid || by_pair || by_legacy) hit = {{pos, &inst}};
      }
    }
    if (!hit) {
      problems.push_back(variable + ": '" + token + "' matches no GPU or MIG instance on this node; it exposes nothing.");
      continue;
    }
    bool duplicate = view.whole.count(hit->first) > 0 || (hit->second && view.instances.count(*hit) > 0);
    if (duplicate) {
      problems.push_back(variable + ": '" + token + "' names a device already exposed by an earlier entry; it counts once.");
      continue;
    }
    if (hit->second) view.instances.insert(*hit);
    else view.whole.insert(hit->first);
    view.token_of[*hit] = token;
  }
  return view;
}

// The CUDA runtime's devices before CUDA_VISIBLE_DEVICES, in its enumeration
// order: FASTEST_FIRST (cuda_index) unless CUDA_DEVICE_ORDER=PCI_BUS_ID or the
// probe could not give every contributing GPU a cuda_index; then PCI order (index).
// MIG instances stand in place of their parent, in the parent's position.
DeviceList cuda_devices(const json& gpus, const std::map<std::string, std::string>& env, DeviceList& hidden_parents,
                        std::vector<std::string>& problems) {
  std::vector<size_t> nvidia;
  for (size_t pos = 0; pos < gpus.size(); ++pos)
    if (gpus[pos].is_object() && string_field(gpus[pos], "vendor") == "nvidia" && driver_usable(gpus[pos]))
      nvidia.push_back(pos);

  auto nvd = env.find("NVIDIA_VISIBLE_DEVICES");
  ContainerView view = nvidia_container_view(gpus, nvidia, nvd == env.end() ? nullptr : &nvd->second, problems);

  std::vector<size_t> present;
  for (size_t pos : nvidia) {
    bool any_instance = std::any_of(view.instances.begin(), view.instances.end(),
                                    [&](const auto& p) { return p.first == pos; });
    if (!view.restricted || view.whole.count(pos) || any_instance) present.push_back(pos);
  }

  auto order = env.find("CUDA_DEVICE_ORDER");
  bool pci_order = order != env.end() && order->second == "PCI_BUS_ID";
  bool all_have_cuda_index = std::all_of(present.begin(), present.end(),
                                         [&](size_t pos) { return int_field(gpus[pos], "cuda_index").has_value(); });
  const char* key = !pci_order && all_have_cuda_index ? "cuda_index" : "index";
  std::stable_sort(present.begin(), present.end(), [&](size_t a, size_t b) {
    return int_field(gpus[a], key).value_or(0) < int_field(gpus[b], key).value_or(0);
  });

  DeviceList list;
  for (size_t pos : present) {
    const json& gpu = gpus[pos];
    if (!is_mig_parent(gpu)) {
      list.push_back(whole_gpu(gpus, pos));
      if (auto it = view.token_of.find({pos, nullptr}); it != view.token_of.end()) list.back().selected_by = it->second;
      continue;
    }
    hidden_parents.push_back(whole_gpu(gpus, pos));
    for (const json& inst : mig_instances(gpu)) {
      std::pair<size_t, const json*> id{pos, &inst};
      if (view.restricted && !view.whole.count(pos) && !view.instances.count(id)) continue;
      list.push_back(mig_device(gpus, pos, inst));
      if (auto it = view.token_of.find(id); it != view.token_of.end()) list.back().selected_by = it->second;
      else if (auto whole = view.token_of.find({pos, nullptr}); whole != view.token_of.end())
        list.back().selected_by = whole->second;
    }
  }
  return list;
}

DeviceList vendor_devices(const json& gpus, const std::string& vendor) {
  std::vector<size_t> found;
  for (size_t pos = 0; pos < gpus.size(); ++pos)
    if (gpus[pos].is_object() && string_field(gpus[pos], "vendor") == vendor && driver_usable(gpus[pos]))
      found.push_back(pos);
  // The vendor's enumeration order (KFD node order for AMD).
  std::stable_sort(found.begin(), found.end(), [&](size_t a, size_t b) {
    return int_field(gpus[a], "index").value_or(0) < int_field(gpus[b], "index").value_or(0);
  });
  DeviceList list;
  for (size_t pos : found) list.push_back(whole_gpu(gpus, pos));
  return list;
}

const std::string* lookup(const std::map<std::string, std::string>& env, const char* name) {
  auto it = env.find(name);
  return it == env.end() ? nullptr : &it->second;
}

DeviceList visible_nvidia(const json& gpus, const std::map<std::string, std::string>& env,
                          std::vector<std::string>& problems) {
  DeviceList hidden_parents;
  DeviceList list = cuda_devices(gpus, env, hidden_parents, problems);
  if (const std::string* cvd = lookup(env, "CUDA_VISIBLE_DEVICES"))
    return apply_runtime_variable(list, "CUDA_VISIBLE_DEVICES", *cvd, "CUDA", hidden_parents, problems);
  return list;
}

// ROCR_VISIBLE_DEVICES narrows what ROCr enumerates; HIP then indexes within
// what is left. HIP reads HIP_VISIBLE_DEVICES, else CUDA_VISIBLE_DEVICES (its
// portability alias; we only honour it on a node without NVIDIA GPUs, where
// it cannot be meant for CUDA), else GPU_DEVICE_ORDINAL.
DeviceList visible_amd(const json& gpus, const std::map<std::string, std::string>& env, bool node_has_nvidia,
                       std::vector<std::string>& problems) {
  DeviceList list = vendor_devices(gpus, "amd");
  const DeviceList none;
  if (const std::string* rocr = lookup(env, "ROCR_VISIBLE_DEVICES"))
    list = apply_runtime_variable(list, "ROCR_VISIBLE_DEVICES", *rocr, "ROCr", none, problems);
  const char* hip_variable = nullptr;
  if (lookup(env, "HIP_VISIBLE_DEVICES")) hip_variable = "HIP_VISIBLE_DEVICES";
  else if (!node_has_nvidia && lookup(env, "CUDA_VISIBLE_DEVICES")) hip_variable = "CUDA_VISIBLE_DEVICES";
  else if (lookup(env, "GPU_DEVICE_ORDINAL")) hip_variable = "GPU_DEVICE_ORDINAL";
  if (!hip_variable) return list;
  return apply_runtime_variable(list, hip_variable, *lookup(env, hip_variable), "HIP", none, problems);
}

bool has_vendor(const json& gpus, const char* vendor) {
  return std::any_of(gpus.begin(), gpus.end(),
                     [&](const json& g) { return g.is_object() && string_field(g, "vendor") == vendor; });
}

DeviceList all_visible(const json& gpus, const std::map<std::string, std::string>& env,
                       std::vector<std::string>& problems) {
  DeviceList out = visible_nvidia(gpus, env, problems);
  DeviceList amd = visible_amd(gpus, env, has_vendor(gpus, "nvidia"), problems);
  DeviceList intel = vendor_devices(gpus, "intel");
  out.insert(out.end(), amd.begin(), amd.end());
  out.insert(out.end(), intel.begin(), intel.end());
  return out;
}

}  // namespace

std::map<std::string, std::string> visible_environment() {
  std::map<std::string, std::string> env;
  for (const char* name : visibility_variables)
    if (const char* value = std::getenv(name)) env[name] = valid_utf8(value);
  return env;
}

json visible_section(const json& gpus, const std::map<std::string, std::string>& environment) {
  const json no_gpus = json::array();
  const json& list = gpus.is_array() ? gpus : no_gpus;

  std::vector<std::string> problems;
  DeviceList visible = all_visible(list, environment, problems);
  std::vector<std::string> unused;
  size_t unrestricted = all_visible(list, {}, unused).size();

  json env = json::object();
  for (const char* name : visibility_variables)
    if (auto it = environment.find(name); it != environment.end()) env[name] = it->second;

  json devices = json::array();
  std::map<std::string, int> next_ordinal;  // per runtime: CUDA, HIP, Level Zero
  for (const Device& d : visible) {
    json entry = json::object();
    entry["kind"] = d.kind;
    entry["vendor"] = d.vendor;
    entry["uuid"] = d.uuid.empty() ? json(nullptr) : json(d.uuid);
    entry["gpu_index"] = d.gpu_pos;
    entry["parent_uuid"] = d.parent_uuid.empty() ? json(nullptr) : json(d.parent_uuid);
    entry["runtime_index"] = next_ordinal[d.vendor]++;
    entry["selected_by"] = d.selected_by.empty() ? json(nullptr) : json(d.selected_by);
    devices.push_back(std::move(entry));
  }

  json section = json::object();
  section["generator"] = generator_stamp("gpuprobe");
  section["environment"] = std::move(env);
  section["restricted"] = visible.size() < unrestricted;
  section["devices"] = std::move(devices);
  section["problems"] = problems;
  return section;
}

}  // namespace gpukit
