// Anchor for the layers/losses/datasets library until its first components land.
namespace sombrero::layers {
const char* floor_name() {
  return "layers";
}
}  // namespace sombrero::layers
