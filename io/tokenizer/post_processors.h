// Post-processors of tokenizer.json: TemplateProcessing, BertProcessing, RobertaProcessing,
// ByteLevel, Sequence (port of tokenizers/src/processors, crate 0.22.2; internal header).
#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "io/tokenizer/tokenizer.h"

namespace peftcpp::tok {

class PostProcessor {
 public:
  virtual ~PostProcessor() = default;
  /// Number of special tokens added for a single sequence or a pair.
  virtual size_t added_tokens(bool is_pair) const = 0;
  /// Transforms the (1 or 2) encodings; the caller merges the result.
  virtual void process_encodings(std::vector<Encoding>& encs, bool add_special_tokens) const = 0;
};

/// PostProcessor::process: sets sequence and type ids, runs `pp` (or the default), merges.
Encoding post_process(
    const PostProcessor* pp, Encoding enc, Encoding* pair, bool add_special_tokens);

/// ByteLevel offset trimming (process_offsets) applied to one encoding.
void trim_byte_level_offsets(Encoding& e, bool add_prefix_space);

class ByteLevelProcessor : public PostProcessor {
 public:
  ByteLevelProcessor(bool trim_offsets, bool add_prefix_space)
      : trim_offsets_(trim_offsets), add_prefix_space_(add_prefix_space) {}
  size_t added_tokens(bool) const override {
    return 0;
  }
  void process_encodings(std::vector<Encoding>& encs, bool add_special_tokens) const override;

 private:
  bool trim_offsets_, add_prefix_space_;
};

struct SpecialTokenDef {
  std::string id;
  std::vector<uint32_t> ids;
  std::vector<std::string> tokens;
};

struct TemplatePiece {
  bool is_sequence;  // $A / $B
  int sequence;      // 0 = A, 1 = B
  std::string id;    // special token id
  uint32_t type_id;
};

class TemplateProcessor : public PostProcessor {
 public:
  TemplateProcessor(
      std::vector<TemplatePiece> single,
      std::vector<TemplatePiece> pair,
      std::map<std::string, SpecialTokenDef> special_tokens);
  size_t added_tokens(bool is_pair) const override {
    return is_pair ? added_pair_ : added_single_;
  }
  void process_encodings(std::vector<Encoding>& encs, bool add_special_tokens) const override;

 private:
  std::vector<TemplatePiece> single_, pair_;
  std::map<std::string, SpecialTokenDef> special_;
  size_t added_single_ = 0, added_pair_ = 0;
};

/// BertProcessing (cls/sep pairs) and RobertaProcessing (adds trimming, all type ids 0).
class BertProcessor : public PostProcessor {
 public:
  BertProcessor(std::string sep, uint32_t sep_id, std::string cls, uint32_t cls_id)
      : sep_(std::move(sep)), cls_(std::move(cls)), sep_id_(sep_id), cls_id_(cls_id) {}
  size_t added_tokens(bool is_pair) const override {
    return is_pair ? 3 : 2;
  }
  void process_encodings(std::vector<Encoding>& encs, bool add_special_tokens) const override;

 private:
  std::string sep_, cls_;
  uint32_t sep_id_, cls_id_;
};

class RobertaProcessor : public PostProcessor {
 public:
  RobertaProcessor(
      std::string sep,
      uint32_t sep_id,
      std::string cls,
      uint32_t cls_id,
      bool trim_offsets,
      bool add_prefix_space)
      : sep_(std::move(sep)),
        cls_(std::move(cls)),
        sep_id_(sep_id),
        cls_id_(cls_id),
        trim_offsets_(trim_offsets),
        add_prefix_space_(add_prefix_space) {}
  size_t added_tokens(bool is_pair) const override {
    return is_pair ? 4 : 2;
  }
  void process_encodings(std::vector<Encoding>& encs, bool add_special_tokens) const override;

 private:
  std::string sep_, cls_;
  uint32_t sep_id_, cls_id_;
  bool trim_offsets_, add_prefix_space_;
};

class SequenceProcessor : public PostProcessor {
 public:
  explicit SequenceProcessor(std::vector<std::unique_ptr<PostProcessor>> items)
      : items_(std::move(items)) {}
  size_t added_tokens(bool is_pair) const override;
  void process_encodings(std::vector<Encoding>& encs, bool add_special_tokens) const override;

 private:
  std::vector<std::unique_ptr<PostProcessor>> items_;
};

}  // namespace peftcpp::tok
