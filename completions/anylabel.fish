# Print an optspec for argparse to handle cmd's options that are independent of any subcommand.
function __fish_anylabel_global_optspecs
    string join \n q/quiet v/verbose offline h/help V/version
end

function __fish_anylabel_needs_command
    # Figure out if the current invocation already has a command.
    set -l cmd (commandline -opc)
    set -e cmd[1]
    argparse -s (__fish_anylabel_global_optspecs) -- $cmd 2>/dev/null
    or return
    if set -q argv[1]
        # Also print the command, so this can be used to figure out what it is.
        echo $argv[1]
        return 1
    end
    return 0
end

function __fish_anylabel_using_subcommand
    set -l cmd (__fish_anylabel_needs_command)
    test -z "$cmd"
    and return 1
    contains -- $cmd[1] $argv
end

complete -c anylabel -n "__fish_anylabel_needs_command" -s q -l quiet -d 'Print only errors on stderr (no notes, no progress bar)'
complete -c anylabel -n "__fish_anylabel_needs_command" -s v -l verbose -d 'Print more about what happens; twice for debugging detail. RUST_LOG overrides it'
complete -c anylabel -n "__fish_anylabel_needs_command" -l offline -d 'Never download anything (ONNX Runtime, catalogue models); fail and say what to do'
complete -c anylabel -n "__fish_anylabel_needs_command" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c anylabel -n "__fish_anylabel_needs_command" -s V -l version -d 'Print version'
complete -c anylabel -n "__fish_anylabel_needs_command" -f -a "scan" -d 'List the images a run would label: recursive, sorted, common image extensions in any case'
complete -c anylabel -n "__fish_anylabel_needs_command" -f -a "preload" -d 'Read, hash and decode every image ahead of a run, listing the ones that will not decode'
complete -c anylabel -n "__fish_anylabel_needs_command" -f -a "infer" -d 'Label images with a detection model and write one JSON record per image'
complete -c anylabel -n "__fish_anylabel_needs_command" -f -a "nms" -d 'Run non-maximum suppression on a CSV of boxes, or again on a results file at another IoU'
complete -c anylabel -n "__fish_anylabel_needs_command" -f -a "filter" -d 'Select records by class, confidence, count and box area (flags, rule files, presets)'
complete -c anylabel -n "__fish_anylabel_needs_command" -f -a "export" -d 'Write records as YOLO, COCO, Pascal VOC, LabelMe, CSV, JSON, a list of images or an HTML gallery'
complete -c anylabel -n "__fish_anylabel_needs_command" -f -a "import" -d 'Turn a YOLO, COCO, Pascal VOC or LabelMe dataset into result records'
complete -c anylabel -n "__fish_anylabel_needs_command" -f -a "bench" -d 'Measure inference, I/O, NMS, filter and cache speed on this machine; compare with a baseline'
complete -c anylabel -n "__fish_anylabel_needs_command" -f -a "runtime" -d 'Find ONNX Runtime, or install the official build (CPU or GPU) from PyPI'
complete -c anylabel -n "__fish_anylabel_needs_command" -f -a "doctor" -d 'Check this machine: ONNX Runtime and its providers, GPUs and driver, CUDA, cuDNN and TensorRT libraries, the cache'
complete -c anylabel -n "__fish_anylabel_needs_command" -f -a "models" -d 'The built-in model catalogue: list, fetch, path'
complete -c anylabel -n "__fish_anylabel_needs_command" -f -a "cache" -d 'The result cache (~/.anylabeling/cache.db): stats, verify, prune, clear'
complete -c anylabel -n "__fish_anylabel_needs_command" -f -a "merge" -d 'Join the outputs (or the result caches) of `--shard K/N` runs into one'
complete -c anylabel -n "__fish_anylabel_needs_command" -f -a "config" -d 'Defaults for settings in ~/.anylabeling/config.toml: get, set, unset, list, path'
complete -c anylabel -n "__fish_anylabel_needs_command" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c anylabel -n "__fish_anylabel_using_subcommand scan" -l from-file -d 'Also read the paths listed in this file (one a line, or NUL-separated)' -r -F
complete -c anylabel -n "__fish_anylabel_using_subcommand scan" -l max-depth -d 'Descend at most N folders below each folder given (1: its own files only)' -r
complete -c anylabel -n "__fish_anylabel_using_subcommand scan" -l exclude -d 'Leave out files and folders matching this glob (against the path below the folder given, and against the name alone), e.g. \'*_thumb.jpg\' or \'cache\'. Repeatable' -r
complete -c anylabel -n "__fish_anylabel_using_subcommand scan" -l ext -d 'Pick up only files with these extensions (any case), instead of the common image ones: --ext jpg,png' -r
complete -c anylabel -n "__fish_anylabel_using_subcommand scan" -l shard -d 'Take only shard K of N (K from 0): the images whose path hashes to K. N runs with K = 0..N-1 share the images out, disjoint and stable. `auto` reads K and N from a Slurm job array (SLURM_ARRAY_TASK_ID, SLURM_ARRAY_TASK_COUNT) or a Kubernetes Indexed Job (JOB_COMPLETION_INDEX, and ANYLABEL_SHARDS for N)' -r
complete -c anylabel -n "__fish_anylabel_using_subcommand scan" -s L -l follow-links -d 'Follow links to folders (a link that leads back to a folder above is reported, not followed)'
complete -c anylabel -n "__fish_anylabel_using_subcommand scan" -s 0 -l print0 -d 'Separate paths with NUL instead of newline (for `xargs -0`; names may hold newlines)'
complete -c anylabel -n "__fish_anylabel_using_subcommand scan" -s q -l quiet -d 'Print only errors on stderr (no notes, no progress bar)'
complete -c anylabel -n "__fish_anylabel_using_subcommand scan" -s v -l verbose -d 'Print more about what happens; twice for debugging detail. RUST_LOG overrides it'
complete -c anylabel -n "__fish_anylabel_using_subcommand scan" -l offline -d 'Never download anything (ONNX Runtime, catalogue models); fail and say what to do'
complete -c anylabel -n "__fish_anylabel_using_subcommand scan" -s h -l help -d 'Print help'
complete -c anylabel -n "__fish_anylabel_using_subcommand preload" -l from-file -d 'Also read the paths listed in this file (one a line, or NUL-separated)' -r -F
complete -c anylabel -n "__fish_anylabel_using_subcommand preload" -l max-depth -d 'Descend at most N folders below each folder given (1: its own files only)' -r
complete -c anylabel -n "__fish_anylabel_using_subcommand preload" -l exclude -d 'Leave out files and folders matching this glob (against the path below the folder given, and against the name alone), e.g. \'*_thumb.jpg\' or \'cache\'. Repeatable' -r
complete -c anylabel -n "__fish_anylabel_using_subcommand preload" -l ext -d 'Pick up only files with these extensions (any case), instead of the common image ones: --ext jpg,png' -r
complete -c anylabel -n "__fish_anylabel_using_subcommand preload" -s m -l model -d 'Also report how many images already have results for this model in the cache' -r
complete -c anylabel -n "__fish_anylabel_using_subcommand preload" -l shard -d 'Take only shard K of N (K from 0): the images whose path hashes to K. N runs with K = 0..N-1 share the images out, disjoint and stable. `auto` reads K and N from a Slurm job array (SLURM_ARRAY_TASK_ID, SLURM_ARRAY_TASK_COUNT) or a Kubernetes Indexed Job (JOB_COMPLETION_INDEX, and ANYLABEL_SHARDS for N)' -r
complete -c anylabel -n "__fish_anylabel_using_subcommand preload" -l imgsz -d 'With --model: the input size the results would be at' -r
complete -c anylabel -n "__fish_anylabel_using_subcommand preload" -l iou -d 'With --model: the NMS IoU the results would be at' -r
complete -c anylabel -n "__fish_anylabel_using_subcommand preload" -l workers -d 'Threads that read and decode (0: one per CPU)' -r
complete -c anylabel -n "__fish_anylabel_using_subcommand preload" -l max-pixels -d 'Images with more pixels than this count as undecodable, as in `infer`' -r
complete -c anylabel -n "__fish_anylabel_using_subcommand preload" -s L -l follow-links -d 'Follow links to folders (a link that leads back to a folder above is reported, not followed)'
complete -c anylabel -n "__fish_anylabel_using_subcommand preload" -l agnostic -d 'With --model: results of class-agnostic NMS'
complete -c anylabel -n "__fish_anylabel_using_subcommand preload" -s q -l quiet -d 'Print only errors on stderr (no notes, no progress bar)'
complete -c anylabel -n "__fish_anylabel_using_subcommand preload" -s v -l verbose -d 'Print more about what happens; twice for debugging detail. RUST_LOG overrides it'
complete -c anylabel -n "__fish_anylabel_using_subcommand preload" -l offline -d 'Never download anything (ONNX Runtime, catalogue models); fail and say what to do'
complete -c anylabel -n "__fish_anylabel_using_subcommand preload" -s h -l help -d 'Print help'
complete -c anylabel -n "__fish_anylabel_using_subcommand infer" -l from-file -d 'Also read the paths listed in this file (one a line, or NUL-separated)' -r -F
complete -c anylabel -n "__fish_anylabel_using_subcommand infer" -l max-depth -d 'Descend at most N folders below each folder given (1: its own files only)' -r
complete -c anylabel -n "__fish_anylabel_using_subcommand infer" -l exclude -d 'Leave out files and folders matching this glob (against the path below the folder given, and against the name alone), e.g. \'*_thumb.jpg\' or \'cache\'. Repeatable' -r
complete -c anylabel -n "__fish_anylabel_using_subcommand infer" -l ext -d 'Pick up only files with these extensions (any case), instead of the common image ones: --ext jpg,png' -r
complete -c anylabel -n "__fish_anylabel_using_subcommand infer" -s m -l model -d 'The model: a .onnx file, a model config .yaml, or a catalogue name' -r
complete -c anylabel -n "__fish_anylabel_using_subcommand infer" -l imgsz -d 'Input size: N for N×N, or H,W. Default: the model\'s fixed size, else the config\'s, else 640' -r
complete -c anylabel -n "__fish_anylabel_using_subcommand infer" -l conf -d 'Keep detections with a score above this. Default: the config\'s, else 0.25' -r
complete -c anylabel -n "__fish_anylabel_using_subcommand infer" -l iou -d 'IoU above which NMS drops the lower-scoring box. Default: the config\'s, else 0.45' -r
complete -c anylabel -n "__fish_anylabel_using_subcommand infer" -l max-det -d 'At most this many detections per image' -r
complete -c anylabel -n "__fish_anylabel_using_subcommand infer" -l classes -d 'Keep only these classes: names or ids, comma-separated. Default: the config\'s filter_classes' -r
complete -c anylabel -n "__fish_anylabel_using_subcommand infer" -l batch -d 'Images per inference call, where the model\'s batch size is not fixed' -r
complete -c anylabel -n "__fish_anylabel_using_subcommand infer" -l threads -d 'Inference threads (0: one per physical core, ONNX Runtime\'s choice)' -r
complete -c anylabel -n "__fish_anylabel_using_subcommand infer" -l workers -d 'Decode threads (0: one per CPU)' -r
complete -c anylabel -n "__fish_anylabel_using_subcommand infer" -l prefetch -d 'Images decoded ahead of inference (default: two batches, and at least two per decode thread)' -r
complete -c anylabel -n "__fish_anylabel_using_subcommand infer" -l max-pixels -d 'Refuse images with more pixels than this, before decoding them (decompression bombs)' -r
complete -c anylabel -n "__fish_anylabel_using_subcommand infer" -l backend -d 'Where the model runs. An explicit backend that cannot start is an error that says why and what to install (`anylabel doctor` checks the machine); it never falls back to the CPU' -r -f -a "auto\t'The fastest that starts: TensorRT, then CUDA, then the CPU (why each was skipped is logged; a warning where the machine has an NVIDIA driver)'
cpu\t'ONNX Runtime\'s CPU provider'
cuda\t'ONNX Runtime\'s CUDA provider (installs the onnxruntime-gpu build when needed)'
trt\t'ONNX Runtime\'s TensorRT provider (TensorRT 10; engines kept in ~/.anylabeling/trt/)'"
complete -c anylabel -n "__fish_anylabel_using_subcommand infer" -l device -d 'The GPU to run on, by index as `nvidia-smi` lists them (after CUDA_VISIBLE_DEVICES)' -r
complete -c anylabel -n "__fish_anylabel_using_subcommand infer" -l precision -d 'TensorRT\'s precision (--backend trt, or auto when it picks TensorRT)' -r -f -a "fp32\t'32-bit floats, as on the CPU'
fp16\t'Half precision: about twice as fast on recent GPUs; scores move slightly'
int8\t'8-bit integers, with the ranges measured on --calib\'s images (FP16 where a layer has no INT8 kernel): faster again; scores move more'"
complete -c anylabel -n "__fish_anylabel_using_subcommand infer" -l calib -d 'With --precision int8: a folder of images like those to label (a few hundred; at most 1000 are used) to measure the ranges TensorRT quantizes to. The table is made on the CPU, once per model, size and image set, and kept under ~/.anylabeling/trt/calib/' -r -F
complete -c anylabel -n "__fish_anylabel_using_subcommand infer" -l preprocess -d 'Where images are letterboxed. gpu: on the GPU the model runs on, by our CUDA kernel (bit-identical to the CPU\'s), straight into the tensor the model reads through ONNX Runtime\'s I/O binding, while the model runs the batch before; the decode threads only decode. auto: gpu when the model runs on a GPU and the kernel starts there, else the CPU (with a warning when the kernel cannot start); cpu: the decode threads' -r -f -a "auto\t'The GPU where the model runs on one and our kernel starts there; the CPU otherwise'
cpu\t'The decode threads, into host memory'
gpu\t'The GPU the model runs on; an error where the kernel cannot start there'"
complete -c anylabel -n "__fish_anylabel_using_subcommand infer" -l decode -d 'Where JPEGs are decoded. cpu: libjpeg-turbo on the decode threads, the pixels OpenCV\'s imdecode gives. gpu: NVIDIA\'s nvJPEG on the GPU the model runs on (the Huffman decoding stays on the decode threads, the rest runs on the GPU, and the pixels never cross the bus); it needs the GPU letterbox and libnvjpeg.so.13 (`pip install "nvidia-nvjpeg==13.*"` or the CUDA toolkit). Its pixels differ from libjpeg-turbo\'s by a few grey levels, so its results are cached apart. JPEGs it does not take as they are (grayscale, CMYK, turned by EXIF, large ones decoded reduced) and other formats are decoded on the CPU' -r -f -a "cpu\t'libjpeg-turbo on the decode threads'
gpu\t'nvJPEG on the GPU, where it takes the JPEG as it is'"
complete -c anylabel -n "__fish_anylabel_using_subcommand infer" -s o -l output -d 'Write the records to this file (atomically, when the run ends) instead of stdout' -r -F
complete -c anylabel -n "__fish_anylabel_using_subcommand infer" -l shard -d 'Take only shard K of N (K from 0): the images whose path hashes to K. N runs with K = 0..N-1 share the images out, disjoint and stable. `auto` reads K and N from a Slurm job array (SLURM_ARRAY_TASK_ID, SLURM_ARRAY_TASK_COUNT) or a Kubernetes Indexed Job (JOB_COMPLETION_INDEX, and ANYLABEL_SHARDS for N)' -r
complete -c anylabel -n "__fish_anylabel_using_subcommand infer" -l json -d 'Also write the run\'s summary as one JSON object to PATH (- for stdout, when the records go to a file with -o): images, failed, detections, cache hits, seconds per stage, the exit code' -r -F
complete -c anylabel -n "__fish_anylabel_using_subcommand infer" -s L -l follow-links -d 'Follow links to folders (a link that leads back to a folder above is reported, not followed)'
complete -c anylabel -n "__fish_anylabel_using_subcommand infer" -l agnostic -d 'Let boxes of different classes suppress each other in NMS'
complete -c anylabel -n "__fish_anylabel_using_subcommand infer" -l exact-decode -d 'Decode every JPEG at full size. By default a JPEG at least three times the size it is letterboxed to (1920 pixels wide for a 640 model) is decoded at 1/2, 1/4 or 1/8 of its size by libjpeg-turbo\'s scaled IDCT, keeping it at least 1.5 times that size: a 12-megapixel photo decodes 2-3× faster. With this flag the pixels are exactly OpenCV\'s imdecode + resize, as they always are for smaller images'
complete -c anylabel -n "__fish_anylabel_using_subcommand infer" -l no-cache -d 'Neither read nor write the result cache (~/.anylabeling/cache.db, or ANYLABEL_CACHE; ANYLABEL_CACHE=off is the same as this flag)'
complete -c anylabel -n "__fish_anylabel_using_subcommand infer" -s q -l quiet -d 'Print only errors on stderr (no notes, no progress bar)'
complete -c anylabel -n "__fish_anylabel_using_subcommand infer" -s v -l verbose -d 'Print more about what happens; twice for debugging detail. RUST_LOG overrides it'
complete -c anylabel -n "__fish_anylabel_using_subcommand infer" -l offline -d 'Never download anything (ONNX Runtime, catalogue models); fail and say what to do'
complete -c anylabel -n "__fish_anylabel_using_subcommand infer" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c anylabel -n "__fish_anylabel_using_subcommand nms" -l iou -d 'Drop a box whose IoU with a kept box is above this' -r
complete -c anylabel -n "__fish_anylabel_using_subcommand nms" -l conf -d 'Drop boxes with a score at or below this first' -r
complete -c anylabel -n "__fish_anylabel_using_subcommand nms" -l max-det -d 'Keep at most this many boxes (per record for results). Default: no limit' -r
complete -c anylabel -n "__fish_anylabel_using_subcommand nms" -l format -d 'How to print the kept rows of a CSV' -r -f -a "lines\t'One index a line'
json\t'A JSON array of indices'"
complete -c anylabel -n "__fish_anylabel_using_subcommand nms" -l agnostic -d 'Let boxes of different classes suppress each other'
complete -c anylabel -n "__fish_anylabel_using_subcommand nms" -s q -l quiet -d 'Print only errors on stderr (no notes, no progress bar)'
complete -c anylabel -n "__fish_anylabel_using_subcommand nms" -s v -l verbose -d 'Print more about what happens; twice for debugging detail. RUST_LOG overrides it'
complete -c anylabel -n "__fish_anylabel_using_subcommand nms" -l offline -d 'Never download anything (ONNX Runtime, catalogue models); fail and say what to do'
complete -c anylabel -n "__fish_anylabel_using_subcommand nms" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c anylabel -n "__fish_anylabel_using_subcommand filter" -l class -d 'Detections of any of these classes (names or ids, comma-separated)' -r
complete -c anylabel -n "__fish_anylabel_using_subcommand filter" -l all-classes -d 'Detections of each of these classes: the count applies to every class on its own' -r
complete -c anylabel -n "__fish_anylabel_using_subcommand filter" -l no-class -d 'No selected detection of these classes' -r
complete -c anylabel -n "__fish_anylabel_using_subcommand filter" -l min-conf -d 'Select detections scoring at least this' -r
complete -c anylabel -n "__fish_anylabel_using_subcommand filter" -l max-conf -d 'Select detections scoring at most this' -r
complete -c anylabel -n "__fish_anylabel_using_subcommand filter" -l min-count -d 'At least N selected detections (default 1)' -r
complete -c anylabel -n "__fish_anylabel_using_subcommand filter" -l max-count -d 'At most N selected detections (from 0 when --min-count is not given)' -r
complete -c anylabel -n "__fish_anylabel_using_subcommand filter" -l count -d 'Exactly N selected detections' -r
complete -c anylabel -n "__fish_anylabel_using_subcommand filter" -l min-area -d 'Select boxes of at least this area: a fraction of the image (0.01), 1%, or 500px' -r
complete -c anylabel -n "__fish_anylabel_using_subcommand filter" -l max-area -d 'Select boxes of at most this area: a fraction of the image (0.1), 10%, or 5000px' -r
complete -c anylabel -n "__fish_anylabel_using_subcommand filter" -l rules -d 'A rule file (JSON; see docs/filter.md)' -r -F
complete -c anylabel -n "__fish_anylabel_using_subcommand filter" -l preset -d 'A saved rule: ~/.anylabeling/presets/NAME.json' -r
complete -c anylabel -n "__fish_anylabel_using_subcommand filter" -l save-preset -d 'Save the rule the flags, --rules and --preset describe as preset NAME' -r
complete -c anylabel -n "__fish_anylabel_using_subcommand filter" -l keep -d 'What a matching record keeps: all its detections, or those that made it match' -r -f -a "all\t'The whole record'
matching\t'Only the detections that made it match'"
complete -c anylabel -n "__fish_anylabel_using_subcommand filter" -s o -l output -d 'Write to this file (atomically, when the run ends) instead of stdout' -r -F
complete -c anylabel -n "__fish_anylabel_using_subcommand filter" -s j -l jobs -d 'Threads that parse records (0: one per CPU)' -r
complete -c anylabel -n "__fish_anylabel_using_subcommand filter" -s m -l model -d 'Label the inputs with this model first (as `infer`, through the result cache)' -r
complete -c anylabel -n "__fish_anylabel_using_subcommand filter" -l imgsz -d 'As `infer --imgsz`' -r
complete -c anylabel -n "__fish_anylabel_using_subcommand filter" -l conf -d 'As `infer --conf`: the detections labelling keeps (--min-conf then selects among them)' -r
complete -c anylabel -n "__fish_anylabel_using_subcommand filter" -l iou -d 'As `infer --iou`' -r
complete -c anylabel -n "__fish_anylabel_using_subcommand filter" -l max-det -d 'As `infer --max-det`' -r
complete -c anylabel -n "__fish_anylabel_using_subcommand filter" -l classes -d 'As `infer --classes`' -r
complete -c anylabel -n "__fish_anylabel_using_subcommand filter" -l batch -d 'As `infer --batch`' -r
complete -c anylabel -n "__fish_anylabel_using_subcommand filter" -l workers -d 'As `infer --workers`' -r
complete -c anylabel -n "__fish_anylabel_using_subcommand filter" -l backend -d 'Where the model runs. An explicit backend that cannot start is an error that says why and what to install (`anylabel doctor` checks the machine); it never falls back to the CPU' -r -f -a "auto\t'The fastest that starts: TensorRT, then CUDA, then the CPU (why each was skipped is logged; a warning where the machine has an NVIDIA driver)'
cpu\t'ONNX Runtime\'s CPU provider'
cuda\t'ONNX Runtime\'s CUDA provider (installs the onnxruntime-gpu build when needed)'
trt\t'ONNX Runtime\'s TensorRT provider (TensorRT 10; engines kept in ~/.anylabeling/trt/)'"
complete -c anylabel -n "__fish_anylabel_using_subcommand filter" -l device -d 'The GPU to run on, by index as `nvidia-smi` lists them (after CUDA_VISIBLE_DEVICES)' -r
complete -c anylabel -n "__fish_anylabel_using_subcommand filter" -l precision -d 'TensorRT\'s precision (--backend trt, or auto when it picks TensorRT)' -r -f -a "fp32\t'32-bit floats, as on the CPU'
fp16\t'Half precision: about twice as fast on recent GPUs; scores move slightly'
int8\t'8-bit integers, with the ranges measured on --calib\'s images (FP16 where a layer has no INT8 kernel): faster again; scores move more'"
complete -c anylabel -n "__fish_anylabel_using_subcommand filter" -l calib -d 'With --precision int8: a folder of images like those to label (a few hundred; at most 1000 are used) to measure the ranges TensorRT quantizes to. The table is made on the CPU, once per model, size and image set, and kept under ~/.anylabeling/trt/calib/' -r -F
complete -c anylabel -n "__fish_anylabel_using_subcommand filter" -l preprocess -d 'Where images are letterboxed. gpu: on the GPU the model runs on, by our CUDA kernel (bit-identical to the CPU\'s), straight into the tensor the model reads through ONNX Runtime\'s I/O binding, while the model runs the batch before; the decode threads only decode. auto: gpu when the model runs on a GPU and the kernel starts there, else the CPU (with a warning when the kernel cannot start); cpu: the decode threads' -r -f -a "auto\t'The GPU where the model runs on one and our kernel starts there; the CPU otherwise'
cpu\t'The decode threads, into host memory'
gpu\t'The GPU the model runs on; an error where the kernel cannot start there'"
complete -c anylabel -n "__fish_anylabel_using_subcommand filter" -l decode -d 'Where JPEGs are decoded. cpu: libjpeg-turbo on the decode threads, the pixels OpenCV\'s imdecode gives. gpu: NVIDIA\'s nvJPEG on the GPU the model runs on (the Huffman decoding stays on the decode threads, the rest runs on the GPU, and the pixels never cross the bus); it needs the GPU letterbox and libnvjpeg.so.13 (`pip install "nvidia-nvjpeg==13.*"` or the CUDA toolkit). Its pixels differ from libjpeg-turbo\'s by a few grey levels, so its results are cached apart. JPEGs it does not take as they are (grayscale, CMYK, turned by EXIF, large ones decoded reduced) and other formats are decoded on the CPU' -r -f -a "cpu\t'libjpeg-turbo on the decode threads'
gpu\t'nvJPEG on the GPU, where it takes the JPEG as it is'"
complete -c anylabel -n "__fish_anylabel_using_subcommand filter" -l list-presets -d 'List the saved presets and their rules, and exit'
complete -c anylabel -n "__fish_anylabel_using_subcommand filter" -l paths -d 'Print only the paths of the matching images'
complete -c anylabel -n "__fish_anylabel_using_subcommand filter" -l stats -d 'Print images read and matched, and detections per class in the matched set, on stdout (records then go only to -o)'
complete -c anylabel -n "__fish_anylabel_using_subcommand filter" -l agnostic -d 'As `infer --agnostic`'
complete -c anylabel -n "__fish_anylabel_using_subcommand filter" -l no-cache -d 'As `infer --no-cache`'
complete -c anylabel -n "__fish_anylabel_using_subcommand filter" -s q -l quiet -d 'Print only errors on stderr (no notes, no progress bar)'
complete -c anylabel -n "__fish_anylabel_using_subcommand filter" -s v -l verbose -d 'Print more about what happens; twice for debugging detail. RUST_LOG overrides it'
complete -c anylabel -n "__fish_anylabel_using_subcommand filter" -l offline -d 'Never download anything (ONNX Runtime, catalogue models); fail and say what to do'
complete -c anylabel -n "__fish_anylabel_using_subcommand filter" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c anylabel -n "__fish_anylabel_using_subcommand export" -s f -l format -d 'The output format' -r -f -a "txt\t'One image path a line'
json\t'A JSON array of records'
jsonl\t'One record a line'
csv\t'One row per detection'
yolo\t'Ultralytics YOLO labels, classes.txt and data.yaml'
coco\t'One COCO detection JSON file'
voc\t'Pascal VOC XML files'
labelme\t'LabelMe JSON files as AnyLabeling / X-AnyLabeling open them'
html\t'An HTML gallery: thumbnails with their boxes, per-class counts and a filter box'"
complete -c anylabel -n "__fish_anylabel_using_subcommand export" -s o -l output -d 'The output: a file (- for stdout) for txt, json, jsonl, csv and coco; a folder for yolo, voc and labelme' -r -F
complete -c anylabel -n "__fish_anylabel_using_subcommand export" -l root -d 'The folder the records\' paths are relative to: the folder that was scanned' -r -F
complete -c anylabel -n "__fish_anylabel_using_subcommand export" -l beside-images -d 'labelme: write each JSON file beside its image (under --root) instead of into OUT'
complete -c anylabel -n "__fish_anylabel_using_subcommand export" -l overwrite -d 'labelme: replace label files that another tool saved (a review in AnyLabeling or X-AnyLabeling, say). By default they are kept as they are, and counted'
complete -c anylabel -n "__fish_anylabel_using_subcommand export" -s q -l quiet -d 'Print only errors on stderr (no notes, no progress bar)'
complete -c anylabel -n "__fish_anylabel_using_subcommand export" -s v -l verbose -d 'Print more about what happens; twice for debugging detail. RUST_LOG overrides it'
complete -c anylabel -n "__fish_anylabel_using_subcommand export" -l offline -d 'Never download anything (ONNX Runtime, catalogue models); fail and say what to do'
complete -c anylabel -n "__fish_anylabel_using_subcommand export" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c anylabel -n "__fish_anylabel_using_subcommand import" -s f -l format -d 'The dataset\'s format' -r -f -a "yolo\t'Ultralytics YOLO labels'
coco\t'A COCO detection JSON file'
voc\t'Pascal VOC XML files'
labelme\t'LabelMe / AnyLabeling / X-AnyLabeling JSON files'"
complete -c anylabel -n "__fish_anylabel_using_subcommand import" -l images -d 'yolo: the images\' folder (default: data.yaml\'s train/val/test). labelme: the folder the records\' paths are relative to (an export\'s --root), each found from imagePath' -r -F
complete -c anylabel -n "__fish_anylabel_using_subcommand import" -l classes -d 'voc, labelme: a class list, one name a line; line N is class N' -r -F
complete -c anylabel -n "__fish_anylabel_using_subcommand import" -s o -l output -d 'Write the records to this file (atomically) instead of stdout' -r -F
complete -c anylabel -n "__fish_anylabel_using_subcommand import" -s q -l quiet -d 'Print only errors on stderr (no notes, no progress bar)'
complete -c anylabel -n "__fish_anylabel_using_subcommand import" -s v -l verbose -d 'Print more about what happens; twice for debugging detail. RUST_LOG overrides it'
complete -c anylabel -n "__fish_anylabel_using_subcommand import" -l offline -d 'Never download anything (ONNX Runtime, catalogue models); fail and say what to do'
complete -c anylabel -n "__fish_anylabel_using_subcommand import" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c anylabel -n "__fish_anylabel_using_subcommand bench" -l json -d 'Write the report as JSON to FILE (`-`: stdout, and the table goes to stderr)' -r -F
complete -c anylabel -n "__fish_anylabel_using_subcommand bench" -l report -d 'Write report.json, report.md and report.html (with charts) into DIR' -r -F
complete -c anylabel -n "__fish_anylabel_using_subcommand bench" -l baseline -d 'Compare with the JSON report of an earlier run; figures more than PCT worse are listed' -r -F
complete -c anylabel -n "__fish_anylabel_using_subcommand bench" -l fail-on-regression -d 'With --baseline: the percentage a figure may get worse (default 10); exit with 4 when one got worse by more, and with 1 when the baseline has none of the figures' -r
complete -c anylabel -n "__fish_anylabel_using_subcommand bench" -l from -d 'Take the figures from a JSON report written earlier instead of measuring (to compare saved reports, or to render one with --report)' -r -F
complete -c anylabel -n "__fish_anylabel_using_subcommand bench" -l model -d 'For infer and cache: a model file, config or catalogue name' -r
complete -c anylabel -n "__fish_anylabel_using_subcommand bench" -l images -d 'For io, infer and cache: the images to measure on' -r -F
complete -c anylabel -n "__fish_anylabel_using_subcommand bench" -l imgsz -d 'For infer and cache: the model\'s input size (square), when it is not fixed' -r
complete -c anylabel -n "__fish_anylabel_using_subcommand bench" -l batch -d 'For infer: the batch sizes to measure throughput at (default 1,2,4, and 8,16 without --quick)' -r
complete -c anylabel -n "__fish_anylabel_using_subcommand bench" -l threads -d 'For infer and cache: as `infer --threads` (ONNX Runtime\'s intra-op threads; 0: its choice, one per physical core)' -r
complete -c anylabel -n "__fish_anylabel_using_subcommand bench" -l workers -d 'For infer and cache: as `infer --workers` (decode threads; 0: one per CPU)' -r
complete -c anylabel -n "__fish_anylabel_using_subcommand bench" -l backend -d 'Where the model runs. An explicit backend that cannot start is an error that says why and what to install (`anylabel doctor` checks the machine); it never falls back to the CPU' -r -f -a "auto\t'The fastest that starts: TensorRT, then CUDA, then the CPU (why each was skipped is logged; a warning where the machine has an NVIDIA driver)'
cpu\t'ONNX Runtime\'s CPU provider'
cuda\t'ONNX Runtime\'s CUDA provider (installs the onnxruntime-gpu build when needed)'
trt\t'ONNX Runtime\'s TensorRT provider (TensorRT 10; engines kept in ~/.anylabeling/trt/)'"
complete -c anylabel -n "__fish_anylabel_using_subcommand bench" -l device -d 'The GPU to run on, by index as `nvidia-smi` lists them (after CUDA_VISIBLE_DEVICES)' -r
complete -c anylabel -n "__fish_anylabel_using_subcommand bench" -l precision -d 'TensorRT\'s precision (--backend trt, or auto when it picks TensorRT)' -r -f -a "fp32\t'32-bit floats, as on the CPU'
fp16\t'Half precision: about twice as fast on recent GPUs; scores move slightly'
int8\t'8-bit integers, with the ranges measured on --calib\'s images (FP16 where a layer has no INT8 kernel): faster again; scores move more'"
complete -c anylabel -n "__fish_anylabel_using_subcommand bench" -l calib -d 'With --precision int8: a folder of images like those to label (a few hundred; at most 1000 are used) to measure the ranges TensorRT quantizes to. The table is made on the CPU, once per model, size and image set, and kept under ~/.anylabeling/trt/calib/' -r -F
complete -c anylabel -n "__fish_anylabel_using_subcommand bench" -l preprocess -d 'Where images are letterboxed. gpu: on the GPU the model runs on, by our CUDA kernel (bit-identical to the CPU\'s), straight into the tensor the model reads through ONNX Runtime\'s I/O binding, while the model runs the batch before; the decode threads only decode. auto: gpu when the model runs on a GPU and the kernel starts there, else the CPU (with a warning when the kernel cannot start); cpu: the decode threads' -r -f -a "auto\t'The GPU where the model runs on one and our kernel starts there; the CPU otherwise'
cpu\t'The decode threads, into host memory'
gpu\t'The GPU the model runs on; an error where the kernel cannot start there'"
complete -c anylabel -n "__fish_anylabel_using_subcommand bench" -l decode -d 'Where JPEGs are decoded. cpu: libjpeg-turbo on the decode threads, the pixels OpenCV\'s imdecode gives. gpu: NVIDIA\'s nvJPEG on the GPU the model runs on (the Huffman decoding stays on the decode threads, the rest runs on the GPU, and the pixels never cross the bus); it needs the GPU letterbox and libnvjpeg.so.13 (`pip install "nvidia-nvjpeg==13.*"` or the CUDA toolkit). Its pixels differ from libjpeg-turbo\'s by a few grey levels, so its results are cached apart. JPEGs it does not take as they are (grayscale, CMYK, turned by EXIF, large ones decoded reduced) and other formats are decoded on the CPU' -r -f -a "cpu\t'libjpeg-turbo on the decode threads'
gpu\t'nvJPEG on the GPU, where it takes the JPEG as it is'"
complete -c anylabel -n "__fish_anylabel_using_subcommand bench" -l quick -d 'Fewer repeats and smaller inputs: seconds instead of minutes, noisier figures'
complete -c anylabel -n "__fish_anylabel_using_subcommand bench" -s q -l quiet -d 'Print only errors on stderr (no notes, no progress bar)'
complete -c anylabel -n "__fish_anylabel_using_subcommand bench" -s v -l verbose -d 'Print more about what happens; twice for debugging detail. RUST_LOG overrides it'
complete -c anylabel -n "__fish_anylabel_using_subcommand bench" -l offline -d 'Never download anything (ONNX Runtime, catalogue models); fail and say what to do'
complete -c anylabel -n "__fish_anylabel_using_subcommand bench" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c anylabel -n "__fish_anylabel_using_subcommand runtime; and not __fish_seen_subcommand_from install path help" -s q -l quiet -d 'Print only errors on stderr (no notes, no progress bar)'
complete -c anylabel -n "__fish_anylabel_using_subcommand runtime; and not __fish_seen_subcommand_from install path help" -s v -l verbose -d 'Print more about what happens; twice for debugging detail. RUST_LOG overrides it'
complete -c anylabel -n "__fish_anylabel_using_subcommand runtime; and not __fish_seen_subcommand_from install path help" -l offline -d 'Never download anything (ONNX Runtime, catalogue models); fail and say what to do'
complete -c anylabel -n "__fish_anylabel_using_subcommand runtime; and not __fish_seen_subcommand_from install path help" -s h -l help -d 'Print help'
complete -c anylabel -n "__fish_anylabel_using_subcommand runtime; and not __fish_seen_subcommand_from install path help" -f -a "install" -d 'Install the official ONNX Runtime build from PyPI into ~/.anylabeling/runtime/ (sha256-checked)'
complete -c anylabel -n "__fish_anylabel_using_subcommand runtime; and not __fish_seen_subcommand_from install path help" -f -a "path" -d 'Print the ONNX Runtime library anylabel uses (installing it first unless --offline)'
complete -c anylabel -n "__fish_anylabel_using_subcommand runtime; and not __fish_seen_subcommand_from install path help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c anylabel -n "__fish_anylabel_using_subcommand runtime; and __fish_seen_subcommand_from install" -l gpu -d 'The GPU build (onnxruntime-gpu, 256 MB): the CUDA and TensorRT providers'
complete -c anylabel -n "__fish_anylabel_using_subcommand runtime; and __fish_seen_subcommand_from install" -s q -l quiet -d 'Print only errors on stderr (no notes, no progress bar)'
complete -c anylabel -n "__fish_anylabel_using_subcommand runtime; and __fish_seen_subcommand_from install" -s v -l verbose -d 'Print more about what happens; twice for debugging detail. RUST_LOG overrides it'
complete -c anylabel -n "__fish_anylabel_using_subcommand runtime; and __fish_seen_subcommand_from install" -l offline -d 'Never download anything (ONNX Runtime, catalogue models); fail and say what to do'
complete -c anylabel -n "__fish_anylabel_using_subcommand runtime; and __fish_seen_subcommand_from install" -s h -l help -d 'Print help'
complete -c anylabel -n "__fish_anylabel_using_subcommand runtime; and __fish_seen_subcommand_from path" -s q -l quiet -d 'Print only errors on stderr (no notes, no progress bar)'
complete -c anylabel -n "__fish_anylabel_using_subcommand runtime; and __fish_seen_subcommand_from path" -s v -l verbose -d 'Print more about what happens; twice for debugging detail. RUST_LOG overrides it'
complete -c anylabel -n "__fish_anylabel_using_subcommand runtime; and __fish_seen_subcommand_from path" -l offline -d 'Never download anything (ONNX Runtime, catalogue models); fail and say what to do'
complete -c anylabel -n "__fish_anylabel_using_subcommand runtime; and __fish_seen_subcommand_from path" -s h -l help -d 'Print help'
complete -c anylabel -n "__fish_anylabel_using_subcommand runtime; and __fish_seen_subcommand_from help" -f -a "install" -d 'Install the official ONNX Runtime build from PyPI into ~/.anylabeling/runtime/ (sha256-checked)'
complete -c anylabel -n "__fish_anylabel_using_subcommand runtime; and __fish_seen_subcommand_from help" -f -a "path" -d 'Print the ONNX Runtime library anylabel uses (installing it first unless --offline)'
complete -c anylabel -n "__fish_anylabel_using_subcommand runtime; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c anylabel -n "__fish_anylabel_using_subcommand doctor" -l require-gpu -d 'Exit with 5 unless this GPU backend can start (cuda, or trt)' -r -f -a "cuda\t''
trt\t''"
complete -c anylabel -n "__fish_anylabel_using_subcommand doctor" -l device -d 'The GPU to check, as infer --device' -r
complete -c anylabel -n "__fish_anylabel_using_subcommand doctor" -l json -d 'Print the report as one JSON object on stdout'
complete -c anylabel -n "__fish_anylabel_using_subcommand doctor" -s q -l quiet -d 'Print only errors on stderr (no notes, no progress bar)'
complete -c anylabel -n "__fish_anylabel_using_subcommand doctor" -s v -l verbose -d 'Print more about what happens; twice for debugging detail. RUST_LOG overrides it'
complete -c anylabel -n "__fish_anylabel_using_subcommand doctor" -l offline -d 'Never download anything (ONNX Runtime, catalogue models); fail and say what to do'
complete -c anylabel -n "__fish_anylabel_using_subcommand doctor" -s h -l help -d 'Print help'
complete -c anylabel -n "__fish_anylabel_using_subcommand models; and not __fish_seen_subcommand_from list fetch path help" -s q -l quiet -d 'Print only errors on stderr (no notes, no progress bar)'
complete -c anylabel -n "__fish_anylabel_using_subcommand models; and not __fish_seen_subcommand_from list fetch path help" -s v -l verbose -d 'Print more about what happens; twice for debugging detail. RUST_LOG overrides it'
complete -c anylabel -n "__fish_anylabel_using_subcommand models; and not __fish_seen_subcommand_from list fetch path help" -l offline -d 'Never download anything (ONNX Runtime, catalogue models); fail and say what to do'
complete -c anylabel -n "__fish_anylabel_using_subcommand models; and not __fish_seen_subcommand_from list fetch path help" -s h -l help -d 'Print help'
complete -c anylabel -n "__fish_anylabel_using_subcommand models; and not __fish_seen_subcommand_from list fetch path help" -f -a "list" -d 'List the catalogue, with each model\'s licence and whether it is fetched'
complete -c anylabel -n "__fish_anylabel_using_subcommand models; and not __fish_seen_subcommand_from list fetch path help" -f -a "fetch" -d 'Fetch catalogue models (sha256-checked) so that later runs work offline'
complete -c anylabel -n "__fish_anylabel_using_subcommand models; and not __fish_seen_subcommand_from list fetch path help" -f -a "path" -d 'Print where a catalogue model is (fetching it first unless --offline)'
complete -c anylabel -n "__fish_anylabel_using_subcommand models; and not __fish_seen_subcommand_from list fetch path help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c anylabel -n "__fish_anylabel_using_subcommand models; and __fish_seen_subcommand_from list" -s q -l quiet -d 'Print only errors on stderr (no notes, no progress bar)'
complete -c anylabel -n "__fish_anylabel_using_subcommand models; and __fish_seen_subcommand_from list" -s v -l verbose -d 'Print more about what happens; twice for debugging detail. RUST_LOG overrides it'
complete -c anylabel -n "__fish_anylabel_using_subcommand models; and __fish_seen_subcommand_from list" -l offline -d 'Never download anything (ONNX Runtime, catalogue models); fail and say what to do'
complete -c anylabel -n "__fish_anylabel_using_subcommand models; and __fish_seen_subcommand_from list" -s h -l help -d 'Print help'
complete -c anylabel -n "__fish_anylabel_using_subcommand models; and __fish_seen_subcommand_from fetch" -s q -l quiet -d 'Print only errors on stderr (no notes, no progress bar)'
complete -c anylabel -n "__fish_anylabel_using_subcommand models; and __fish_seen_subcommand_from fetch" -s v -l verbose -d 'Print more about what happens; twice for debugging detail. RUST_LOG overrides it'
complete -c anylabel -n "__fish_anylabel_using_subcommand models; and __fish_seen_subcommand_from fetch" -l offline -d 'Never download anything (ONNX Runtime, catalogue models); fail and say what to do'
complete -c anylabel -n "__fish_anylabel_using_subcommand models; and __fish_seen_subcommand_from fetch" -s h -l help -d 'Print help'
complete -c anylabel -n "__fish_anylabel_using_subcommand models; and __fish_seen_subcommand_from path" -s q -l quiet -d 'Print only errors on stderr (no notes, no progress bar)'
complete -c anylabel -n "__fish_anylabel_using_subcommand models; and __fish_seen_subcommand_from path" -s v -l verbose -d 'Print more about what happens; twice for debugging detail. RUST_LOG overrides it'
complete -c anylabel -n "__fish_anylabel_using_subcommand models; and __fish_seen_subcommand_from path" -l offline -d 'Never download anything (ONNX Runtime, catalogue models); fail and say what to do'
complete -c anylabel -n "__fish_anylabel_using_subcommand models; and __fish_seen_subcommand_from path" -s h -l help -d 'Print help'
complete -c anylabel -n "__fish_anylabel_using_subcommand models; and __fish_seen_subcommand_from help" -f -a "list" -d 'List the catalogue, with each model\'s licence and whether it is fetched'
complete -c anylabel -n "__fish_anylabel_using_subcommand models; and __fish_seen_subcommand_from help" -f -a "fetch" -d 'Fetch catalogue models (sha256-checked) so that later runs work offline'
complete -c anylabel -n "__fish_anylabel_using_subcommand models; and __fish_seen_subcommand_from help" -f -a "path" -d 'Print where a catalogue model is (fetching it first unless --offline)'
complete -c anylabel -n "__fish_anylabel_using_subcommand models; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c anylabel -n "__fish_anylabel_using_subcommand cache; and not __fish_seen_subcommand_from stats verify prune clear path help" -s q -l quiet -d 'Print only errors on stderr (no notes, no progress bar)'
complete -c anylabel -n "__fish_anylabel_using_subcommand cache; and not __fish_seen_subcommand_from stats verify prune clear path help" -s v -l verbose -d 'Print more about what happens; twice for debugging detail. RUST_LOG overrides it'
complete -c anylabel -n "__fish_anylabel_using_subcommand cache; and not __fish_seen_subcommand_from stats verify prune clear path help" -l offline -d 'Never download anything (ONNX Runtime, catalogue models); fail and say what to do'
complete -c anylabel -n "__fish_anylabel_using_subcommand cache; and not __fish_seen_subcommand_from stats verify prune clear path help" -s h -l help -d 'Print help'
complete -c anylabel -n "__fish_anylabel_using_subcommand cache; and not __fish_seen_subcommand_from stats verify prune clear path help" -f -a "stats" -d 'Where the cache is, its size, what it holds, and its hit rate since it was created'
complete -c anylabel -n "__fish_anylabel_using_subcommand cache; and not __fish_seen_subcommand_from stats verify prune clear path help" -f -a "verify" -d 'Check the cache\'s integrity (SQLite\'s integrity_check, and every stored result)'
complete -c anylabel -n "__fish_anylabel_using_subcommand cache; and not __fish_seen_subcommand_from stats verify prune clear path help" -f -a "prune" -d 'Evict the least recently used results until the cache is at most SIZE (e.g. 500MB, 2GB)'
complete -c anylabel -n "__fish_anylabel_using_subcommand cache; and not __fish_seen_subcommand_from stats verify prune clear path help" -f -a "clear" -d 'Delete everything in the cache'
complete -c anylabel -n "__fish_anylabel_using_subcommand cache; and not __fish_seen_subcommand_from stats verify prune clear path help" -f -a "path" -d 'Print the cache file\'s path'
complete -c anylabel -n "__fish_anylabel_using_subcommand cache; and not __fish_seen_subcommand_from stats verify prune clear path help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c anylabel -n "__fish_anylabel_using_subcommand cache; and __fish_seen_subcommand_from stats" -s q -l quiet -d 'Print only errors on stderr (no notes, no progress bar)'
complete -c anylabel -n "__fish_anylabel_using_subcommand cache; and __fish_seen_subcommand_from stats" -s v -l verbose -d 'Print more about what happens; twice for debugging detail. RUST_LOG overrides it'
complete -c anylabel -n "__fish_anylabel_using_subcommand cache; and __fish_seen_subcommand_from stats" -l offline -d 'Never download anything (ONNX Runtime, catalogue models); fail and say what to do'
complete -c anylabel -n "__fish_anylabel_using_subcommand cache; and __fish_seen_subcommand_from stats" -s h -l help -d 'Print help'
complete -c anylabel -n "__fish_anylabel_using_subcommand cache; and __fish_seen_subcommand_from verify" -s q -l quiet -d 'Print only errors on stderr (no notes, no progress bar)'
complete -c anylabel -n "__fish_anylabel_using_subcommand cache; and __fish_seen_subcommand_from verify" -s v -l verbose -d 'Print more about what happens; twice for debugging detail. RUST_LOG overrides it'
complete -c anylabel -n "__fish_anylabel_using_subcommand cache; and __fish_seen_subcommand_from verify" -l offline -d 'Never download anything (ONNX Runtime, catalogue models); fail and say what to do'
complete -c anylabel -n "__fish_anylabel_using_subcommand cache; and __fish_seen_subcommand_from verify" -s h -l help -d 'Print help'
complete -c anylabel -n "__fish_anylabel_using_subcommand cache; and __fish_seen_subcommand_from prune" -l max-size -r
complete -c anylabel -n "__fish_anylabel_using_subcommand cache; and __fish_seen_subcommand_from prune" -s q -l quiet -d 'Print only errors on stderr (no notes, no progress bar)'
complete -c anylabel -n "__fish_anylabel_using_subcommand cache; and __fish_seen_subcommand_from prune" -s v -l verbose -d 'Print more about what happens; twice for debugging detail. RUST_LOG overrides it'
complete -c anylabel -n "__fish_anylabel_using_subcommand cache; and __fish_seen_subcommand_from prune" -l offline -d 'Never download anything (ONNX Runtime, catalogue models); fail and say what to do'
complete -c anylabel -n "__fish_anylabel_using_subcommand cache; and __fish_seen_subcommand_from prune" -s h -l help -d 'Print help'
complete -c anylabel -n "__fish_anylabel_using_subcommand cache; and __fish_seen_subcommand_from clear" -s q -l quiet -d 'Print only errors on stderr (no notes, no progress bar)'
complete -c anylabel -n "__fish_anylabel_using_subcommand cache; and __fish_seen_subcommand_from clear" -s v -l verbose -d 'Print more about what happens; twice for debugging detail. RUST_LOG overrides it'
complete -c anylabel -n "__fish_anylabel_using_subcommand cache; and __fish_seen_subcommand_from clear" -l offline -d 'Never download anything (ONNX Runtime, catalogue models); fail and say what to do'
complete -c anylabel -n "__fish_anylabel_using_subcommand cache; and __fish_seen_subcommand_from clear" -s h -l help -d 'Print help'
complete -c anylabel -n "__fish_anylabel_using_subcommand cache; and __fish_seen_subcommand_from path" -s q -l quiet -d 'Print only errors on stderr (no notes, no progress bar)'
complete -c anylabel -n "__fish_anylabel_using_subcommand cache; and __fish_seen_subcommand_from path" -s v -l verbose -d 'Print more about what happens; twice for debugging detail. RUST_LOG overrides it'
complete -c anylabel -n "__fish_anylabel_using_subcommand cache; and __fish_seen_subcommand_from path" -l offline -d 'Never download anything (ONNX Runtime, catalogue models); fail and say what to do'
complete -c anylabel -n "__fish_anylabel_using_subcommand cache; and __fish_seen_subcommand_from path" -s h -l help -d 'Print help'
complete -c anylabel -n "__fish_anylabel_using_subcommand cache; and __fish_seen_subcommand_from help" -f -a "stats" -d 'Where the cache is, its size, what it holds, and its hit rate since it was created'
complete -c anylabel -n "__fish_anylabel_using_subcommand cache; and __fish_seen_subcommand_from help" -f -a "verify" -d 'Check the cache\'s integrity (SQLite\'s integrity_check, and every stored result)'
complete -c anylabel -n "__fish_anylabel_using_subcommand cache; and __fish_seen_subcommand_from help" -f -a "prune" -d 'Evict the least recently used results until the cache is at most SIZE (e.g. 500MB, 2GB)'
complete -c anylabel -n "__fish_anylabel_using_subcommand cache; and __fish_seen_subcommand_from help" -f -a "clear" -d 'Delete everything in the cache'
complete -c anylabel -n "__fish_anylabel_using_subcommand cache; and __fish_seen_subcommand_from help" -f -a "path" -d 'Print the cache file\'s path'
complete -c anylabel -n "__fish_anylabel_using_subcommand cache; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c anylabel -n "__fish_anylabel_using_subcommand merge" -s o -l output -d 'Where to write: a results file (atomically; default stdout) or with --cache a cache file' -r -F
complete -c anylabel -n "__fish_anylabel_using_subcommand merge" -l root -d 'Order the records as a new walk of this folder meets their paths' -r -F
complete -c anylabel -n "__fish_anylabel_using_subcommand merge" -l cache -d 'Merge result caches (SQLite files) rather than results'
complete -c anylabel -n "__fish_anylabel_using_subcommand merge" -s q -l quiet -d 'Print only errors on stderr (no notes, no progress bar)'
complete -c anylabel -n "__fish_anylabel_using_subcommand merge" -s v -l verbose -d 'Print more about what happens; twice for debugging detail. RUST_LOG overrides it'
complete -c anylabel -n "__fish_anylabel_using_subcommand merge" -l offline -d 'Never download anything (ONNX Runtime, catalogue models); fail and say what to do'
complete -c anylabel -n "__fish_anylabel_using_subcommand merge" -s h -l help -d 'Print help'
complete -c anylabel -n "__fish_anylabel_using_subcommand config; and not __fish_seen_subcommand_from get set unset list path help" -s q -l quiet -d 'Print only errors on stderr (no notes, no progress bar)'
complete -c anylabel -n "__fish_anylabel_using_subcommand config; and not __fish_seen_subcommand_from get set unset list path help" -s v -l verbose -d 'Print more about what happens; twice for debugging detail. RUST_LOG overrides it'
complete -c anylabel -n "__fish_anylabel_using_subcommand config; and not __fish_seen_subcommand_from get set unset list path help" -l offline -d 'Never download anything (ONNX Runtime, catalogue models); fail and say what to do'
complete -c anylabel -n "__fish_anylabel_using_subcommand config; and not __fish_seen_subcommand_from get set unset list path help" -s h -l help -d 'Print help'
complete -c anylabel -n "__fish_anylabel_using_subcommand config; and not __fish_seen_subcommand_from get set unset list path help" -f -a "get" -d 'Print a setting\'s effective value (without flags); where it comes from goes to stderr'
complete -c anylabel -n "__fish_anylabel_using_subcommand config; and not __fish_seen_subcommand_from get set unset list path help" -f -a "set" -d 'Check VALUE as the flag would and write it to the config file'
complete -c anylabel -n "__fish_anylabel_using_subcommand config; and not __fish_seen_subcommand_from get set unset list path help" -f -a "unset" -d 'Remove a setting from the config file'
complete -c anylabel -n "__fish_anylabel_using_subcommand config; and not __fish_seen_subcommand_from get set unset list path help" -f -a "list" -d 'Print every setting with its effective value and where it comes from'
complete -c anylabel -n "__fish_anylabel_using_subcommand config; and not __fish_seen_subcommand_from get set unset list path help" -f -a "path" -d 'Print the config file\'s path'
complete -c anylabel -n "__fish_anylabel_using_subcommand config; and not __fish_seen_subcommand_from get set unset list path help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c anylabel -n "__fish_anylabel_using_subcommand config; and __fish_seen_subcommand_from get" -l show-origin -d 'Print `ORIGIN<TAB>VALUE` on stdout (origin: env VAR, file PATH:LINE, or built-in)'
complete -c anylabel -n "__fish_anylabel_using_subcommand config; and __fish_seen_subcommand_from get" -s q -l quiet -d 'Print only errors on stderr (no notes, no progress bar)'
complete -c anylabel -n "__fish_anylabel_using_subcommand config; and __fish_seen_subcommand_from get" -s v -l verbose -d 'Print more about what happens; twice for debugging detail. RUST_LOG overrides it'
complete -c anylabel -n "__fish_anylabel_using_subcommand config; and __fish_seen_subcommand_from get" -l offline -d 'Never download anything (ONNX Runtime, catalogue models); fail and say what to do'
complete -c anylabel -n "__fish_anylabel_using_subcommand config; and __fish_seen_subcommand_from get" -s h -l help -d 'Print help'
complete -c anylabel -n "__fish_anylabel_using_subcommand config; and __fish_seen_subcommand_from set" -s q -l quiet -d 'Print only errors on stderr (no notes, no progress bar)'
complete -c anylabel -n "__fish_anylabel_using_subcommand config; and __fish_seen_subcommand_from set" -s v -l verbose -d 'Print more about what happens; twice for debugging detail. RUST_LOG overrides it'
complete -c anylabel -n "__fish_anylabel_using_subcommand config; and __fish_seen_subcommand_from set" -l offline -d 'Never download anything (ONNX Runtime, catalogue models); fail and say what to do'
complete -c anylabel -n "__fish_anylabel_using_subcommand config; and __fish_seen_subcommand_from set" -s h -l help -d 'Print help'
complete -c anylabel -n "__fish_anylabel_using_subcommand config; and __fish_seen_subcommand_from unset" -s q -l quiet -d 'Print only errors on stderr (no notes, no progress bar)'
complete -c anylabel -n "__fish_anylabel_using_subcommand config; and __fish_seen_subcommand_from unset" -s v -l verbose -d 'Print more about what happens; twice for debugging detail. RUST_LOG overrides it'
complete -c anylabel -n "__fish_anylabel_using_subcommand config; and __fish_seen_subcommand_from unset" -l offline -d 'Never download anything (ONNX Runtime, catalogue models); fail and say what to do'
complete -c anylabel -n "__fish_anylabel_using_subcommand config; and __fish_seen_subcommand_from unset" -s h -l help -d 'Print help'
complete -c anylabel -n "__fish_anylabel_using_subcommand config; and __fish_seen_subcommand_from list" -s q -l quiet -d 'Print only errors on stderr (no notes, no progress bar)'
complete -c anylabel -n "__fish_anylabel_using_subcommand config; and __fish_seen_subcommand_from list" -s v -l verbose -d 'Print more about what happens; twice for debugging detail. RUST_LOG overrides it'
complete -c anylabel -n "__fish_anylabel_using_subcommand config; and __fish_seen_subcommand_from list" -l offline -d 'Never download anything (ONNX Runtime, catalogue models); fail and say what to do'
complete -c anylabel -n "__fish_anylabel_using_subcommand config; and __fish_seen_subcommand_from list" -s h -l help -d 'Print help'
complete -c anylabel -n "__fish_anylabel_using_subcommand config; and __fish_seen_subcommand_from path" -s q -l quiet -d 'Print only errors on stderr (no notes, no progress bar)'
complete -c anylabel -n "__fish_anylabel_using_subcommand config; and __fish_seen_subcommand_from path" -s v -l verbose -d 'Print more about what happens; twice for debugging detail. RUST_LOG overrides it'
complete -c anylabel -n "__fish_anylabel_using_subcommand config; and __fish_seen_subcommand_from path" -l offline -d 'Never download anything (ONNX Runtime, catalogue models); fail and say what to do'
complete -c anylabel -n "__fish_anylabel_using_subcommand config; and __fish_seen_subcommand_from path" -s h -l help -d 'Print help'
complete -c anylabel -n "__fish_anylabel_using_subcommand config; and __fish_seen_subcommand_from help" -f -a "get" -d 'Print a setting\'s effective value (without flags); where it comes from goes to stderr'
complete -c anylabel -n "__fish_anylabel_using_subcommand config; and __fish_seen_subcommand_from help" -f -a "set" -d 'Check VALUE as the flag would and write it to the config file'
complete -c anylabel -n "__fish_anylabel_using_subcommand config; and __fish_seen_subcommand_from help" -f -a "unset" -d 'Remove a setting from the config file'
complete -c anylabel -n "__fish_anylabel_using_subcommand config; and __fish_seen_subcommand_from help" -f -a "list" -d 'Print every setting with its effective value and where it comes from'
complete -c anylabel -n "__fish_anylabel_using_subcommand config; and __fish_seen_subcommand_from help" -f -a "path" -d 'Print the config file\'s path'
complete -c anylabel -n "__fish_anylabel_using_subcommand config; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c anylabel -n "__fish_anylabel_using_subcommand help; and not __fish_seen_subcommand_from scan preload infer nms filter export import bench runtime doctor models cache merge config help" -f -a "scan" -d 'List the images a run would label: recursive, sorted, common image extensions in any case'
complete -c anylabel -n "__fish_anylabel_using_subcommand help; and not __fish_seen_subcommand_from scan preload infer nms filter export import bench runtime doctor models cache merge config help" -f -a "preload" -d 'Read, hash and decode every image ahead of a run, listing the ones that will not decode'
complete -c anylabel -n "__fish_anylabel_using_subcommand help; and not __fish_seen_subcommand_from scan preload infer nms filter export import bench runtime doctor models cache merge config help" -f -a "infer" -d 'Label images with a detection model and write one JSON record per image'
complete -c anylabel -n "__fish_anylabel_using_subcommand help; and not __fish_seen_subcommand_from scan preload infer nms filter export import bench runtime doctor models cache merge config help" -f -a "nms" -d 'Run non-maximum suppression on a CSV of boxes, or again on a results file at another IoU'
complete -c anylabel -n "__fish_anylabel_using_subcommand help; and not __fish_seen_subcommand_from scan preload infer nms filter export import bench runtime doctor models cache merge config help" -f -a "filter" -d 'Select records by class, confidence, count and box area (flags, rule files, presets)'
complete -c anylabel -n "__fish_anylabel_using_subcommand help; and not __fish_seen_subcommand_from scan preload infer nms filter export import bench runtime doctor models cache merge config help" -f -a "export" -d 'Write records as YOLO, COCO, Pascal VOC, LabelMe, CSV, JSON, a list of images or an HTML gallery'
complete -c anylabel -n "__fish_anylabel_using_subcommand help; and not __fish_seen_subcommand_from scan preload infer nms filter export import bench runtime doctor models cache merge config help" -f -a "import" -d 'Turn a YOLO, COCO, Pascal VOC or LabelMe dataset into result records'
complete -c anylabel -n "__fish_anylabel_using_subcommand help; and not __fish_seen_subcommand_from scan preload infer nms filter export import bench runtime doctor models cache merge config help" -f -a "bench" -d 'Measure inference, I/O, NMS, filter and cache speed on this machine; compare with a baseline'
complete -c anylabel -n "__fish_anylabel_using_subcommand help; and not __fish_seen_subcommand_from scan preload infer nms filter export import bench runtime doctor models cache merge config help" -f -a "runtime" -d 'Find ONNX Runtime, or install the official build (CPU or GPU) from PyPI'
complete -c anylabel -n "__fish_anylabel_using_subcommand help; and not __fish_seen_subcommand_from scan preload infer nms filter export import bench runtime doctor models cache merge config help" -f -a "doctor" -d 'Check this machine: ONNX Runtime and its providers, GPUs and driver, CUDA, cuDNN and TensorRT libraries, the cache'
complete -c anylabel -n "__fish_anylabel_using_subcommand help; and not __fish_seen_subcommand_from scan preload infer nms filter export import bench runtime doctor models cache merge config help" -f -a "models" -d 'The built-in model catalogue: list, fetch, path'
complete -c anylabel -n "__fish_anylabel_using_subcommand help; and not __fish_seen_subcommand_from scan preload infer nms filter export import bench runtime doctor models cache merge config help" -f -a "cache" -d 'The result cache (~/.anylabeling/cache.db): stats, verify, prune, clear'
complete -c anylabel -n "__fish_anylabel_using_subcommand help; and not __fish_seen_subcommand_from scan preload infer nms filter export import bench runtime doctor models cache merge config help" -f -a "merge" -d 'Join the outputs (or the result caches) of `--shard K/N` runs into one'
complete -c anylabel -n "__fish_anylabel_using_subcommand help; and not __fish_seen_subcommand_from scan preload infer nms filter export import bench runtime doctor models cache merge config help" -f -a "config" -d 'Defaults for settings in ~/.anylabeling/config.toml: get, set, unset, list, path'
complete -c anylabel -n "__fish_anylabel_using_subcommand help; and not __fish_seen_subcommand_from scan preload infer nms filter export import bench runtime doctor models cache merge config help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c anylabel -n "__fish_anylabel_using_subcommand help; and __fish_seen_subcommand_from runtime" -f -a "install" -d 'Install the official ONNX Runtime build from PyPI into ~/.anylabeling/runtime/ (sha256-checked)'
complete -c anylabel -n "__fish_anylabel_using_subcommand help; and __fish_seen_subcommand_from runtime" -f -a "path" -d 'Print the ONNX Runtime library anylabel uses (installing it first unless --offline)'
complete -c anylabel -n "__fish_anylabel_using_subcommand help; and __fish_seen_subcommand_from models" -f -a "list" -d 'List the catalogue, with each model\'s licence and whether it is fetched'
complete -c anylabel -n "__fish_anylabel_using_subcommand help; and __fish_seen_subcommand_from models" -f -a "fetch" -d 'Fetch catalogue models (sha256-checked) so that later runs work offline'
complete -c anylabel -n "__fish_anylabel_using_subcommand help; and __fish_seen_subcommand_from models" -f -a "path" -d 'Print where a catalogue model is (fetching it first unless --offline)'
complete -c anylabel -n "__fish_anylabel_using_subcommand help; and __fish_seen_subcommand_from cache" -f -a "stats" -d 'Where the cache is, its size, what it holds, and its hit rate since it was created'
complete -c anylabel -n "__fish_anylabel_using_subcommand help; and __fish_seen_subcommand_from cache" -f -a "verify" -d 'Check the cache\'s integrity (SQLite\'s integrity_check, and every stored result)'
complete -c anylabel -n "__fish_anylabel_using_subcommand help; and __fish_seen_subcommand_from cache" -f -a "prune" -d 'Evict the least recently used results until the cache is at most SIZE (e.g. 500MB, 2GB)'
complete -c anylabel -n "__fish_anylabel_using_subcommand help; and __fish_seen_subcommand_from cache" -f -a "clear" -d 'Delete everything in the cache'
complete -c anylabel -n "__fish_anylabel_using_subcommand help; and __fish_seen_subcommand_from cache" -f -a "path" -d 'Print the cache file\'s path'
complete -c anylabel -n "__fish_anylabel_using_subcommand help; and __fish_seen_subcommand_from config" -f -a "get" -d 'Print a setting\'s effective value (without flags); where it comes from goes to stderr'
complete -c anylabel -n "__fish_anylabel_using_subcommand help; and __fish_seen_subcommand_from config" -f -a "set" -d 'Check VALUE as the flag would and write it to the config file'
complete -c anylabel -n "__fish_anylabel_using_subcommand help; and __fish_seen_subcommand_from config" -f -a "unset" -d 'Remove a setting from the config file'
complete -c anylabel -n "__fish_anylabel_using_subcommand help; and __fish_seen_subcommand_from config" -f -a "list" -d 'Print every setting with its effective value and where it comes from'
complete -c anylabel -n "__fish_anylabel_using_subcommand help; and __fish_seen_subcommand_from config" -f -a "path" -d 'Print the config file\'s path'
