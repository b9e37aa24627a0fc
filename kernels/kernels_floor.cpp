// Anchor for the kernels library, so the target exists before its first family lands.
namespace sombrero::kernels {
const char* floor_name() { return "kernels"; }
}  // namespace sombrero::kernels
