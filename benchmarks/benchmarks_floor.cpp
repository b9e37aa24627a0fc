// Anchor for the benchmarks library until `sombrero bench` gains its first routine.
namespace sombrero::benchmarks {
const char* floor_name() {
  return "benchmarks";
}
}  // namespace sombrero::benchmarks
