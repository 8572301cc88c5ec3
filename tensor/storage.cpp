#include "tensor/storage.h"

#include "tensor/allocator.h"

namespace peftcpp {

std::shared_ptr<Storage> Storage::allocate(std::size_t nbytes, Device device) {
  std::shared_ptr<Storage> s(new Storage());
  s->data_ = allocator_for(device).allocate(nbytes);
  s->nbytes_ = nbytes;
  s->device_ = device;
  s->owned_ = true;
  return s;
}

std::shared_ptr<Storage> Storage::wrap(
    void* data, std::size_t nbytes, Device device, std::shared_ptr<const void> keepalive,
    bool read_only) {
  std::shared_ptr<Storage> s(new Storage());
  s->data_ = data;
  s->nbytes_ = nbytes;
  s->device_ = device;
  s->keepalive_ = std::move(keepalive);
  s->read_only_ = read_only;
  return s;
}

Storage::~Storage() {
  if (owned_ && data_ != nullptr) {
    allocator_for(device_).deallocate(data_, nbytes_);
  }
}

}  // namespace peftcpp
