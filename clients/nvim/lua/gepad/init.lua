-- gepad for Neovim (>= 0.10): feedback (👎 👍, corrections) and a personalized assistant,
-- through the gepad language server (`gepad lsp`).
--
--   require('gepad').setup({ cmd = { 'gepad', 'lsp' } })
--
-- Each command works on the visual selection (`:'<,'>GepadThumbsDown`) or the current line.
-- Results are announced with `vim.notify` and a `User GepadResult` autocmd whose `data` is
-- `{ command = 'gepad.thumbsDown', result = ..., err = ... }`.

local M = {}

local CLIENT_NAME = 'gepad'
local PROMPT_CHANGED = 'gepad/promptChanged'

local defaults = {
  -- The language server command.
  cmd = { 'gepad', 'lsp' },
  -- Filetypes to attach to; nil attaches to every normal file buffer.
  filetypes = nil,
  -- Files whose nearest ancestor holds one of these is the workspace root (else the cwd).
  root_markers = { '.git' },
  -- Extra environment for the server process.
  cmd_env = nil,
  -- Whether to announce command results with vim.notify.
  notify = true,
}

-- Per-session state: set by setup(), never at require time.
local state = {
  config = nil,
  prompts = {}, -- component -> { version = n, score = x }
  optimizer = nil, -- the optimizer's state from the last status
  group = nil,
}

local function has_011()
  return vim.fn.has('nvim-0.11') == 1
end

local function notify(msg, level)
  if state.config == nil or state.config.notify then
    vim.notify('gepad: ' .. msg, level or vim.log.levels.INFO)
  end
end

--- The gepad client attached to a buffer, if any.
---@param bufnr integer?
---@return vim.lsp.Client?
function M.client(bufnr)
  local clients = vim.lsp.get_clients({ name = CLIENT_NAME, bufnr = bufnr or 0 })
  return clients[1]
end

local function request(client, method, params, handler, bufnr)
  if has_011() then
    return client:request(method, params, handler, bufnr)
  end
  return client.request(method, params, handler, bufnr)
end

local function emit(command, err, result)
  vim.api.nvim_exec_autocmds('User', {
    pattern = 'GepadResult',
    modeline = false,
    data = { command = command, err = err, result = result },
  })
end

local function error_text(err)
  if type(err) == 'table' then
    return err.message or vim.inspect(err)
  end
  return tostring(err)
end

--- Runs one of the server's commands (workspace/executeCommand with one object argument).
---@param command string e.g. 'gepad.thumbsDown'
---@param args table
---@param on_done fun(err: any, result: any)?
---@param bufnr integer?
function M.execute(command, args, on_done, bufnr)
  bufnr = bufnr or vim.api.nvim_get_current_buf()
  local done = function(err, result)
    if on_done then
      on_done(err, result)
    end
    emit(command, err, result)
  end
  if next(args) == nil then
    -- An empty Lua table encodes as a JSON array; the server takes one object.
    args = vim.empty_dict()
  end
  local client = M.client(bufnr)
  if client == nil then
    local err = { message = 'the gepad language server is not attached to this buffer' }
    notify(err.message .. ' (see :checkhealth lsp, and gepad.setup({cmd = ...}))', vim.log.levels.ERROR)
    done(err, nil)
    return
  end
  request(client, 'workspace/executeCommand', { command = command, arguments = { args } }, function(err, result)
    if err then
      notify(command .. ' failed: ' .. error_text(err), vim.log.levels.ERROR)
    end
    done(err, result)
  end, bufnr)
end

local function lsp_col(bufnr, row, byte_col, encoding)
  if byte_col <= 0 then
    return 0
  end
  return vim.lsp.util.character_offset(bufnr, row, byte_col, encoding)
end

local function line_text(bufnr, row)
  return vim.api.nvim_buf_get_lines(bufnr, row, row + 1, false)[1] or ''
end

--- The LSP range of a command's target: the charwise visual selection when the command was
--- given `'<,'>` right after one, the given lines otherwise, else the current line.
---@param bufnr integer
---@param cmd_opts table? the user command's opts (range, line1, line2)
---@param encoding string the client's position encoding
---@return table range 0-based, end exclusive
function M.range_for(bufnr, cmd_opts, encoding)
  local first, last
  if cmd_opts and cmd_opts.range and cmd_opts.range > 0 then
    first, last = cmd_opts.line1 - 1, cmd_opts.line2 - 1
  else
    local row = vim.api.nvim_win_get_cursor(0)[1] - 1
    first, last = row, row
  end
  local vs = vim.api.nvim_buf_get_mark(bufnr, '<')
  local ve = vim.api.nvim_buf_get_mark(bufnr, '>')
  local charwise = cmd_opts
    and cmd_opts.range == 2
    and vim.fn.visualmode() == 'v'
    and vs[1] - 1 == first
    and ve[1] - 1 == last
  if charwise then
    local end_line = line_text(bufnr, last)
    local end_byte = math.min(ve[2], math.max(#end_line - 1, 0))
    if #end_line > 0 then
      -- '> marks the first byte of the last character; LSP ends are exclusive.
      end_byte = end_byte + 1 + vim.str_utf_end(end_line, end_byte + 1)
    end
    return {
      start = { line = first, character = lsp_col(bufnr, first, vs[2], encoding) },
      ['end'] = { line = last, character = lsp_col(bufnr, last, end_byte, encoding) },
    }
  end
  return {
    start = { line = first, character = 0 },
    ['end'] = { line = last, character = lsp_col(bufnr, last, #line_text(bufnr, last), encoding) },
  }
end

local function target(opts)
  local bufnr = opts.bufnr or vim.api.nvim_get_current_buf()
  local client = M.client(bufnr)
  local encoding = client and client.offset_encoding or 'utf-16'
  local range = opts.range or M.range_for(bufnr, opts.cmd_opts, encoding)
  return bufnr, { uri = vim.uri_from_bufnr(bufnr), range = range }
end

local function nonempty(s)
  if type(s) == 'string' and vim.trim(s) ~= '' then
    return vim.trim(s)
  end
  return nil
end

local function feedback_done(what, on_done)
  return function(err, result)
    if not err and result then
      if result.spooled then
        notify(what .. ' saved; the daemon is not reachable, it will be sent when it is back')
      else
        notify(what .. ' recorded (example ' .. tostring(result.example_id) .. ')')
      end
    end
    if on_done then
      on_done(err, result)
    end
  end
end

--- 👎 on the target, with an optional comment.
---@param opts { comment: string?, bufnr: integer?, range: table?, cmd_opts: table?, on_done: function? }?
function M.thumbs_down(opts)
  opts = opts or {}
  local bufnr, args = target(opts)
  args.comment = nonempty(opts.comment)
  M.execute('gepad.thumbsDown', args, feedback_done('👎', opts.on_done), bufnr)
end

--- 👍 on the target.
function M.thumbs_up(opts)
  opts = opts or {}
  local bufnr, args = target(opts)
  M.execute('gepad.thumbsUp', args, feedback_done('👍', opts.on_done), bufnr)
end

--- A correction: recorded at once with `corrected`, else the target is tracked and the user's
--- own edit is recorded when the file is next saved.
---@param opts { corrected: string?, comment: string?, bufnr: integer?, range: table?, cmd_opts: table?, on_done: function? }?
function M.correct(opts)
  opts = opts or {}
  local bufnr, args = target(opts)
  args.comment = nonempty(opts.comment)
  args.corrected = opts.corrected
  M.execute('gepad.correct', args, function(err, result)
    if not err then
      if opts.corrected then
        notify('correction recorded')
      else
        notify('edit the selection and :write; your edit is recorded as a correction')
      end
    end
    if opts.on_done then
      opts.on_done(err, result)
    end
  end, bufnr)
end

--- Asks the assistant to rewrite the target; the server applies the edit.
---@param opts { instruction: string, bufnr: integer?, range: table?, cmd_opts: table?, on_done: function? }
function M.assist(opts)
  opts = opts or {}
  local instruction = nonempty(opts.instruction)
  if instruction == nil then
    notify('say what the assistant should do: :GepadAssist {instruction}', vim.log.levels.ERROR)
    return
  end
  local bufnr, args = target(opts)
  args.instruction = instruction
  notify('the assistant is writing…')
  M.execute('gepad.assist', args, function(err, result)
    if not err and result then
      notify(
        string.format(
          'rewritten with prompt v%s (generation %s); edit freely, :write records your changes',
          tostring(result.prompt_version),
          tostring(result.generation_id)
        )
      )
    end
    if opts.on_done then
      opts.on_done(err, result)
    end
  end, bufnr)
end

local function component_of(bufnr)
  local name = vim.api.nvim_buf_get_name(bufnr)
  if name:match('%.cuh?$') then
    return 'kernel'
  end
  return 'general'
end

local function prompt_lines(prompt)
  local score = prompt.score
  local score_text = (type(score) == 'number') and string.format('%.3f', score) or 'none yet'
  local header = string.format(
    '<!-- gepad prompt: %s v%s, score %s (%s%s) -->',
    prompt.component,
    tostring(prompt.version),
    score_text,
    tostring(prompt.source),
    prompt.pinned and ', pinned' or ''
  )
  local lines = { header, '' }
  vim.list_extend(lines, vim.split(prompt.text or '', '\n', { plain = true }))
  return lines
end

--- Opens the current prompt of a component (default: the server's choice for this file's
--- component, `general` if none) in a read-only scratch buffer.
---@param opts { component: string?, bufnr: integer?, on_done: function? }?
function M.prompt(opts)
  opts = opts or {}
  local args = { component = nonempty(opts.component) or component_of(opts.bufnr or 0) }
  M.execute('gepad.prompt', args, function(err, prompt)
    if not err and type(prompt) == 'table' then
      state.prompts[prompt.component] = { version = prompt.version, score = prompt.score }
      local buf = vim.api.nvim_create_buf(false, true)
      vim.bo[buf].bufhidden = 'wipe'
      vim.api.nvim_buf_set_lines(buf, 0, -1, false, prompt_lines(prompt))
      vim.bo[buf].modifiable = false
      vim.bo[buf].filetype = 'markdown'
      pcall(vim.api.nvim_buf_set_name, buf, 'gepad://prompt/' .. prompt.component)
      vim.cmd('split')
      vim.api.nvim_win_set_buf(0, buf)
    end
    if opts.on_done then
      opts.on_done(err, prompt)
    end
  end, opts.bufnr)
end

local function apply_status(status)
  if type(status) ~= 'table' then
    return
  end
  for _, c in ipairs(status.components or {}) do
    state.prompts[c.component] = { version = c.version, score = c.score }
  end
  if type(status.optimizer) == 'table' then
    state.optimizer = status.optimizer.state
  end
end

--- Asks the daemon for its status; updates the statusline and echoes a summary.
---@param opts { bufnr: integer?, quiet: boolean?, on_done: function? }?
function M.status(opts)
  opts = opts or {}
  M.execute('gepad.status', {}, function(err, status)
    if not err then
      apply_status(status)
      if not opts.quiet then
        local parts = {}
        for _, c in ipairs(status.components or {}) do
          table.insert(parts, c.component .. ' v' .. tostring(c.version))
        end
        notify(
          string.format(
            'optimizer %s; prompts %s; %s examples',
            tostring(state.optimizer),
            #parts > 0 and table.concat(parts, ', ') or 'none',
            tostring(status.examples_total)
          )
        )
      end
    end
    if opts.on_done then
      opts.on_done(err, status)
    end
  end, opts.bufnr)
end

--- For 'statusline': `gepad v3 · idle` for the current buffer's component, '' when detached.
---@return string
--- Opens the dashboard: `<gepad> dashboard --print-url` hands out a link that works once, and
--- vim.ui.open gives it to the browser. Calls on_done(url, err) when given (tests use it).
function M.dashboard(opts)
  opts = opts or {}
  local config = state.config or defaults
  local cmd = { config.cmd[1], 'dashboard', '--print-url' }
  vim.system(cmd, { text = true }, vim.schedule_wrap(function(res)
    local url = vim.trim(res.stdout or '')
    if res.code ~= 0 or not url:match('^http://%S+$') then
      local why = vim.trim(res.stderr or '')
      notify('could not open the dashboard: ' .. (why ~= '' and why or ('exit ' .. res.code)), vim.log.levels.ERROR)
      if opts.on_done then opts.on_done(nil, why) end
      return
    end
    local open = opts.open or vim.ui.open
    open(url)
    if opts.on_done then opts.on_done(url, nil) end
  end))
end

function M.statusline()
  local bufnr = vim.api.nvim_get_current_buf()
  if M.client(bufnr) == nil then
    return ''
  end
  local prompt = state.prompts[component_of(bufnr)]
  local version = prompt and ('v' .. tostring(prompt.version)) or 'v?'
  return string.format('gepad %s · %s', version, state.optimizer or '…')
end

--- The cached prompt versions and optimizer state (what statusline() shows).
function M.state()
  return { prompts = vim.deepcopy(state.prompts), optimizer = state.optimizer }
end

local function on_prompt_changed(_, params)
  if type(params) == 'table' and type(params.component) == 'string' then
    state.prompts[params.component] = { version = params.version, score = params.score }
    notify(string.format('new %s prompt v%s', params.component, tostring(params.version)))
    vim.cmd('redrawstatus')
  end
  return vim.NIL
end

local function root_dir(bufnr, markers)
  local root = vim.fs.root(bufnr, markers)
  return root or vim.fn.getcwd()
end

--- Starts (or reuses) the gepad client for a buffer.
---@param bufnr integer
---@return integer? client_id
function M.attach(bufnr)
  local config = state.config
  if config == nil then
    error('gepad: call require("gepad").setup() first')
  end
  if vim.bo[bufnr].buftype ~= '' or vim.api.nvim_buf_get_name(bufnr) == '' then
    return nil
  end
  if config.filetypes and not vim.tbl_contains(config.filetypes, vim.bo[bufnr].filetype) then
    return nil
  end
  return vim.lsp.start({
    name = CLIENT_NAME,
    cmd = config.cmd,
    cmd_env = config.cmd_env,
    root_dir = root_dir(bufnr, config.root_markers),
    handlers = { [PROMPT_CHANGED] = on_prompt_changed },
    on_attach = function(_, attached)
      M.status({ bufnr = attached, quiet = true })
    end,
  }, { bufnr = bufnr })
end

local function command_text(cmd_opts)
  return (cmd_opts.args ~= nil and cmd_opts.args ~= '') and cmd_opts.args or nil
end

local function create_commands()
  local function define(name, fn, spec)
    vim.api.nvim_create_user_command(name, fn, vim.tbl_extend('force', { range = true, force = true }, spec))
  end
  define('GepadThumbsDown', function(o)
    M.thumbs_down({ comment = command_text(o), cmd_opts = o })
  end, { nargs = '*', desc = 'gepad: 👎 on the selection or line, with an optional comment' })
  define('GepadThumbsUp', function(o)
    M.thumbs_up({ cmd_opts = o })
  end, { nargs = 0, desc = 'gepad: 👍 on the selection or line' })
  define('GepadCorrect', function(o)
    M.correct({ comment = command_text(o), cmd_opts = o })
  end, { nargs = '*', desc = 'gepad: track the selection; your edit is the correction on :write' })
  define('GepadAssist', function(o)
    M.assist({ instruction = command_text(o), cmd_opts = o })
  end, { nargs = '+', desc = 'gepad: ask the assistant to rewrite the selection or line' })
  define('GepadPrompt', function(o)
    M.prompt({ component = command_text(o) })
  end, { nargs = '?', range = false, desc = 'gepad: show the current prompt' })
  define('GepadStatus', function()
    M.status()
  end, { nargs = 0, range = false, desc = "gepad: the daemon's status" })
  define('GepadDashboard', function()
    M.dashboard()
  end, { nargs = 0, range = false, desc = 'gepad: open the live dashboard in the browser' })
end

--- Configures the plugin: user commands, and the server attached to file buffers.
---@param opts table? see `defaults` and :help gepad-setup
function M.setup(opts)
  local config = vim.tbl_deep_extend('force', vim.deepcopy(defaults), opts or {})
  if type(config.cmd) ~= 'table' or #config.cmd == 0 then
    error("gepad.setup: cmd must be a non-empty list, e.g. { 'gepad', 'lsp' }")
  end
  state.config = config
  create_commands()
  state.group = vim.api.nvim_create_augroup('gepad', { clear = true })
  vim.api.nvim_create_autocmd({ 'FileType', 'BufEnter' }, {
    group = state.group,
    callback = function(ev)
      M.attach(ev.buf)
    end,
  })
  -- Buffers already open when setup() runs (e.g. `nvim file -c 'lua ...'`).
  for _, buf in ipairs(vim.api.nvim_list_bufs()) do
    if vim.api.nvim_buf_is_loaded(buf) then
      M.attach(buf)
    end
  end
end

return M
