-- The plugin in a real Neovim without a server: the LSP ranges it computes for selections,
-- and the error a command gives when no server is attached. Writes JSON to GEPAD_RANGES_OUT.
local out_path = assert(os.getenv('GEPAD_RANGES_OUT'))
local results = {}

local function run()
  local gepad = require('gepad')
  local buf = vim.api.nvim_get_current_buf()
  vim.api.nvim_buf_set_lines(buf, 0, -1, false, { 'alpha beta', 'héllo wörld', 'gamma' })
  local function range_of(keys, cmd_opts, encoding)
    -- Escape leaves visual mode and sets '< '>, as typing ':' does.
    vim.cmd('normal! ' .. keys .. '\27')
    return gepad.range_for(buf, cmd_opts, encoding or 'utf-16')
  end
  -- charwise selection 'beta' on line 1
  results.charwise = range_of('1G7|ve', { range = 2, line1 = 1, line2 = 1 })
  -- charwise selection across a multibyte character: 'héllo w' (é is 2 bytes, 1 UTF-16 unit)
  results.multibyte_utf16 = range_of('2G0v6l', { range = 2, line1 = 2, line2 = 2 })
  results.multibyte_utf8 = range_of('2G0v6l', { range = 2, line1 = 2, line2 = 2 }, 'utf-8')
  -- linewise selection of lines 2-3
  results.linewise = range_of('2GVj', { range = 2, line1 = 2, line2 = 3 })
  -- an explicit line range after an old charwise selection: whole lines
  results.lines = range_of('1G0vl', { range = 2, line1 = 2, line2 = 3 })
  -- no range: the current line
  vim.api.nvim_win_set_cursor(0, { 3, 2 })
  results.current_line = gepad.range_for(buf, { range = 0 }, 'utf-16')

  local got
  vim.api.nvim_create_autocmd('User', {
    pattern = 'GepadResult',
    callback = function(ev)
      got = ev.data
    end,
  })
  gepad.thumbs_up({ bufnr = buf })
  results.detached = got
  results.statusline = gepad.statusline()
end

local ok, err = xpcall(run, debug.traceback)
results.ok = ok
results.error = ok and nil or tostring(err)
local f = assert(io.open(out_path, 'w'))
f:write(vim.json.encode(results))
f:close()
vim.cmd('qall!')
